namespace LoraGrains.Cluster.Queue;

/// <summary>What a sweep of expired leases did.</summary>
/// <param name="Requeued">Jobs put back in the queue for another silo.</param>
/// <param name="Failed">Jobs that had used all their attempts and were failed.</param>
/// <param name="Cancelled">Jobs whose tenant had asked to cancel them, now cancelled.</param>
public sealed record LeaseSweepResult(int Requeued, int Failed, int Cancelled);
