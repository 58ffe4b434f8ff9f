namespace LoraGrains.Cluster.Tenancy;

/// <summary>A tenant: who owns sessions, adapters and jobs, and how much of the cluster it is entitled to.</summary>
/// <param name="Id">Tenant id: 1-63 characters of lowercase letters, digits and '-'.</param>
/// <param name="Name">Display name.</param>
/// <param name="Weight">Share of claims relative to other busy tenants (weight 2 gets twice the jobs of weight 1).</param>
/// <param name="MaxRunningJobs">Quota: at most this many of its jobs run at once across the cluster.</param>
/// <param name="MaxQueuedJobs">Quota: submissions are refused while this many of its jobs are queued.</param>
/// <param name="CreatedAt">When it was created (ignored on create; set by the store).</param>
public sealed record Tenant(string Id, string Name, int Weight, int MaxRunningJobs, int MaxQueuedJobs, DateTimeOffset CreatedAt = default);
