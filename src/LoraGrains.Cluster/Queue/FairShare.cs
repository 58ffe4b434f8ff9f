namespace LoraGrains.Cluster.Queue;

/// <summary>
/// Weighted fair sharing of claims between tenants, by stride scheduling (the discrete form of weighted
/// fair queueing), plus the adapter-residency preference among the fair choices. Pure functions: the
/// queue reads the inputs and writes the outcome inside its claim transaction.
/// <para>
/// Each tenant carries a pass: the virtual time its next job is due. A claim serves the tenant with the
/// lowest pass and advances it by 1/weight, so over any stretch in which tenants stay busy each receives
/// claims in proportion to its weight (within one claim). The virtual time is the start of the most recent
/// service; a tenant's effective pass is never below it, so a tenant that was idle (or held back by its
/// running-jobs quota) rejoins level with the others instead of cashing in the turns it did not use.
/// </para>
/// </summary>
internal static class FairShare
{
    /// <summary>
    /// Most tenants in one group: each costs the claim a query, and when many tenants tie (all idle, then all
    /// busy at once) looking at a few of them is enough to find a resident job; the rest follow in the next groups.
    /// </summary>
    public const int MaxGroupSize = 4;

    // Passes are sums of 1/weight; tenants whose passes differ by less than this are tied.
    private const double Tie = 1e-9;

    /// <summary>A tenant's scheduling inputs as read in the claim transaction.</summary>
    public readonly record struct TenantShare(string TenantId, int Weight, int MaxRunningJobs, int RunningJobs, double Pass);

    /// <summary>A queued job that may be claimed.</summary>
    public readonly record struct Candidate(Guid JobId, long Seq, string TenantId, IReadOnlyList<string> AdapterHashes);

    /// <summary>The pass a tenant competes with now: its own, but never behind the virtual time.</summary>
    public static double EffectivePass(double pass, double virtualTime) => Math.Max(pass, virtualTime);

    /// <summary>The tenant's new (start, pass) after being served at <paramref name="effectivePass"/>.</summary>
    public static (double Start, double Pass) Charge(double effectivePass, int weight) => (effectivePass, effectivePass + (1.0 / weight));

    /// <summary>
    /// Tenants that may be served (under their running-jobs quota), grouped by effective pass, lowest first.
    /// Tenants in one group are equally entitled to the next claim; the groups after it are fallbacks for
    /// when a group has no claimable job (all its jobs locked by another transaction).
    /// </summary>
    public static List<List<TenantShare>> ServiceOrder(IEnumerable<TenantShare> tenants, double virtualTime)
    {
        var eligible = tenants
            .Where(t => t.RunningJobs < t.MaxRunningJobs)
            .OrderBy(t => EffectivePass(t.Pass, virtualTime))
            .ThenBy(t => t.TenantId, StringComparer.Ordinal)
            .ToList();
        var groups = new List<List<TenantShare>>();
        foreach (var tenant in eligible)
        {
            var pass = EffectivePass(tenant.Pass, virtualTime);
            if (groups.Count > 0 && groups[^1].Count < MaxGroupSize && pass - EffectivePass(groups[^1][0].Pass, virtualTime) <= Tie)
            {
                groups[^1].Add(tenant);
            }
            else
            {
                groups.Add([tenant]);
            }
        }

        return groups;
    }

    /// <summary>
    /// Among equally fair candidates (given oldest first per tenant, tenants in service order), the one that
    /// reuses the most adapters already resident on the claiming silo; ties keep the given order, so with
    /// nothing resident this is plain FIFO. Counting matches rather than requiring all adapters lets a silo
    /// holding two of three adapters beat one holding none.
    /// </summary>
    public static Candidate PreferResident(IReadOnlyList<Candidate> candidates, IReadOnlySet<string> residentAdapters)
    {
        var best = candidates[0];
        var bestScore = ResidentCount(best, residentAdapters);
        for (var i = 1; i < candidates.Count && residentAdapters.Count > 0; i++)
        {
            var score = ResidentCount(candidates[i], residentAdapters);
            if (score > bestScore)
            {
                best = candidates[i];
                bestScore = score;
            }
        }

        return best;
    }

    private static int ResidentCount(Candidate candidate, IReadOnlySet<string> residentAdapters)
    {
        var count = 0;
        foreach (var hash in candidate.AdapterHashes)
        {
            if (residentAdapters.Contains(hash))
            {
                count++;
            }
        }

        return count;
    }
}
