namespace LoraGrains.Client;

/// <summary>A job as its tenant sees it.</summary>
/// <param name="JobId">The job.</param>
/// <param name="SessionId">Its session, if any.</param>
/// <param name="Status">queued | running | succeeded | failed | cancelled.</param>
/// <param name="Attempts">Claims so far (more than one after a silo died or drained).</param>
/// <param name="CheckpointStep">Steps saved by the last checkpoint.</param>
/// <param name="Silo">Silo holding (or that last held) it.</param>
/// <param name="ImageSha256">SHA-256 of the image, once succeeded.</param>
/// <param name="Error">Why it failed or was cancelled.</param>
/// <param name="CreatedAt">Submission time.</param>
/// <param name="StartedAt">First claim.</param>
/// <param name="FinishedAt">Final state reached.</param>
public sealed record JobInfo(
    Guid JobId,
    string? SessionId,
    string Status,
    int Attempts,
    int? CheckpointStep,
    string? Silo,
    string? ImageSha256,
    string? Error,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt)
{
    /// <summary>Whether the job has reached a state it never leaves.</summary>
    public bool IsFinal => Status is "succeeded" or "failed" or "cancelled";
}
