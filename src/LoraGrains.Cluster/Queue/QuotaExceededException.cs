namespace LoraGrains.Cluster.Queue;

/// <summary>A submission was refused because the tenant is at a quota; nothing was written (HTTP 429).</summary>
public sealed class QuotaExceededException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="tenantId">The tenant.</param>
    /// <param name="quota">Which quota, e.g. <c>maxQueuedJobs</c>.</param>
    /// <param name="limit">Its value.</param>
    public QuotaExceededException(string tenantId, string quota, int limit)
        : base($"Tenant '{tenantId}' is at its {quota} quota of {limit}; retry when some of its jobs have finished.")
    {
        TenantId = tenantId;
        Quota = quota;
        Limit = limit;
    }

    /// <summary>The tenant.</summary>
    public string TenantId { get; }

    /// <summary>Which quota.</summary>
    public string Quota { get; }

    /// <summary>Its value.</summary>
    public int Limit { get; }
}
