namespace LoraGrains.Cluster.Storage;

/// <summary>Metadata of one LoRA adapter a tenant has uploaded (what an AdapterGrain persists); the weights stay in the file.</summary>
/// <param name="TenantId">Owning tenant.</param>
/// <param name="ContentHash">SHA-256 of the adapter file, 64 lowercase hex digits: the adapter's identity.</param>
/// <param name="Name">Display name.</param>
/// <param name="Format">File format as detected by the engine, e.g. <c>kohya</c> or <c>diffusers</c>.</param>
/// <param name="Rank">Low-rank dimension r.</param>
/// <param name="Targets">Targeted modules, e.g. <c>unet</c>, <c>text_encoder</c>.</param>
/// <param name="TriggerWords">Words that should appear in the prompt.</param>
/// <param name="FusionKey">Fusion key vector (float32, little-endian) for attention-based fusion, if computed.</param>
/// <param name="FilePath">Where the adapter file is stored (shared storage path or blob key).</param>
/// <param name="SizeBytes">File size in bytes.</param>
/// <param name="CreatedAt">When it was registered (ignored on register; set by the store).</param>
public sealed record AdapterRecord(
    string TenantId,
    string ContentHash,
    string Name,
    string Format,
    int Rank,
    IReadOnlyList<string> Targets,
    IReadOnlyList<string> TriggerWords,
    byte[]? FusionKey,
    string FilePath,
    long SizeBytes,
    DateTimeOffset CreatedAt);
