namespace LoraGrains.Cluster.Queue;

/// <summary>The last saved progress of a job, so that whoever claims it next resumes instead of restarting.</summary>
/// <param name="Step">Denoising steps completed.</param>
/// <param name="Data">Serialised state (latents, scheduler state) when stored in the database.</param>
/// <param name="BlobPath">Where the state is stored when it lives outside the database.</param>
public sealed record JobCheckpoint(int Step, byte[]? Data, string? BlobPath);
