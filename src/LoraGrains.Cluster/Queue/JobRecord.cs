namespace LoraGrains.Cluster.Queue;

/// <summary>A job as its tenant may see it.</summary>
/// <param name="JobId">The job.</param>
/// <param name="TenantId">Its tenant.</param>
/// <param name="SessionId">Its session, if any.</param>
/// <param name="Status">Where it is.</param>
/// <param name="Attempts">Claims so far.</param>
/// <param name="MaxAttempts">Claims allowed.</param>
/// <param name="LeaseOwner">Silo holding (or that last held) its lease.</param>
/// <param name="LeaseExpiresAt">When the current lease expires, while running.</param>
/// <param name="CancelRequested">The tenant asked to cancel it while it ran.</param>
/// <param name="CheckpointStep">Step of its last checkpoint, if any.</param>
/// <param name="ResultPath">Where the result image is, once succeeded.</param>
/// <param name="ResultSha256">SHA-256 of the result image, once succeeded.</param>
/// <param name="Error">Why it failed or was cancelled.</param>
/// <param name="CreatedAt">When it was submitted.</param>
/// <param name="StartedAt">When it was first claimed.</param>
/// <param name="UpdatedAt">Its last change.</param>
/// <param name="FinishedAt">When it reached a final state.</param>
public sealed record JobRecord(
    Guid JobId,
    string TenantId,
    string? SessionId,
    JobStatus Status,
    int Attempts,
    int MaxAttempts,
    string? LeaseOwner,
    DateTimeOffset? LeaseExpiresAt,
    bool CancelRequested,
    int? CheckpointStep,
    string? ResultPath,
    string? ResultSha256,
    string? Error,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? FinishedAt);
