namespace LoraGrains.Cluster.Queue;

/// <summary>A job a silo has just claimed, with everything it needs to run or resume it.</summary>
/// <param name="JobId">The job.</param>
/// <param name="TenantId">Its tenant.</param>
/// <param name="SessionId">Its session, if any.</param>
/// <param name="RequestJson">The generation request.</param>
/// <param name="AdapterHashes">Adapters it composes.</param>
/// <param name="Attempt">1 for the first claim, 2 after one lost lease, …</param>
/// <param name="MaxAttempts">Claims allowed before an expired lease fails it.</param>
/// <param name="LeaseOwner">The claiming silo; pass it to every later call on this job.</param>
/// <param name="LeaseExpiresAt">Renew before this, or another silo may take the job.</param>
/// <param name="Checkpoint">Progress saved by an earlier attempt, if any.</param>
/// <param name="CreatedAt">When the job was submitted (for the submit-to-claim latency).</param>
public sealed record ClaimedJob(
    Guid JobId,
    string TenantId,
    string? SessionId,
    string RequestJson,
    IReadOnlyList<string> AdapterHashes,
    int Attempt,
    int MaxAttempts,
    string LeaseOwner,
    DateTimeOffset LeaseExpiresAt,
    JobCheckpoint? Checkpoint,
    DateTimeOffset CreatedAt);
