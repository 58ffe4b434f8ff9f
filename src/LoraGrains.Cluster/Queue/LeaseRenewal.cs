namespace LoraGrains.Cluster.Queue;

/// <summary>The outcome of a successful lease renewal.</summary>
/// <param name="ExpiresAt">The new expiry.</param>
/// <param name="CancellationRequested">The tenant asked to cancel the job: stop, then call <see cref="JobQueue.CancelAsync"/>.</param>
public sealed record LeaseRenewal(DateTimeOffset ExpiresAt, bool CancellationRequested);
