using LoraGrains.Cluster.Queue;

namespace LoraGrains.Cluster.Tests;

/// <summary>The fair-share arithmetic on its own, without a database.</summary>
public sealed class FairShareTests
{
    // Replays the claim loop: serve the first group's first tenant, charge it, repeat.
    private static Dictionary<string, int> Simulate(Dictionary<string, FairShare.TenantShare> tenants, ref double virtualTime, int claims)
    {
        var served = tenants.Keys.ToDictionary(k => k, _ => 0);
        for (var i = 0; i < claims; i++)
        {
            var next = FairShare.ServiceOrder(tenants.Values, virtualTime)[0][0];
            var (start, pass) = FairShare.Charge(FairShare.EffectivePass(next.Pass, virtualTime), next.Weight);
            virtualTime = start;
            tenants[next.TenantId] = next with { Pass = pass };
            served[next.TenantId]++;
        }

        return served;
    }

    [Fact]
    public void Busy_tenants_are_served_exactly_in_proportion_to_their_weights()
    {
        var tenants = new Dictionary<string, FairShare.TenantShare>
        {
            ["a"] = new("a", 1, 100, 0, 0),
            ["b"] = new("b", 2, 100, 0, 0),
            ["c"] = new("c", 3, 100, 0, 0),
        };
        var virtualTime = 0.0;
        Assert.Equal(new Dictionary<string, int> { ["a"] = 100, ["b"] = 200, ["c"] = 300 }, Simulate(tenants, ref virtualTime, 600));
    }

    [Fact]
    public void A_tenant_returning_from_idle_rejoins_level_instead_of_cashing_in_missed_turns()
    {
        var tenants = new Dictionary<string, FairShare.TenantShare> { ["busy"] = new("busy", 1, 100, 0, 0) };
        var virtualTime = 0.0;
        Simulate(tenants, ref virtualTime, 100);
        tenants["back"] = new("back", 1, 100, 0, 0);
        // With the virtual-time floor the two alternate (the newcomer starts one turn ahead, at the current
        // virtual time); without it "back" would take the next 100 claims.
        var served = Simulate(tenants, ref virtualTime, 10);
        Assert.InRange(served["back"], 5, 6);
        Assert.InRange(served["busy"], 4, 5);
    }

    [Fact]
    public void Tenants_at_their_running_quota_are_not_eligible()
    {
        var order = FairShare.ServiceOrder([new("full", 5, 2, 2, 0), new("room", 1, 2, 1, 10)], 0);
        Assert.Equal("room", Assert.Single(Assert.Single(order)).TenantId);
    }

    [Fact]
    public void Tied_tenants_form_one_group_in_id_order()
    {
        var order = FairShare.ServiceOrder([new("b", 1, 9, 0, 1.0), new("a", 1, 9, 0, 1.0), new("c", 1, 9, 0, 2.0)], 0);
        Assert.Equal(["a", "b"], order[0].Select(t => t.TenantId));
        Assert.Equal("c", Assert.Single(order[1]).TenantId);
    }

    [Fact]
    public void Large_ties_are_split_into_small_groups()
    {
        var order = FairShare.ServiceOrder(Enumerable.Range(0, 10).Select(i => new FairShare.TenantShare($"t{i}", 1, 9, 0, 0)), 0);
        Assert.Equal([4, 4, 2], order.Select(g => g.Count));
    }

    [Fact]
    public void Residency_prefers_the_most_resident_adapters_and_keeps_fifo_on_ties()
    {
        string H(char c) => new(c, 64);
        var candidates = new List<FairShare.Candidate>
        {
            new(Guid.NewGuid(), 1, "t", [H('1')]),
            new(Guid.NewGuid(), 2, "t", [H('2'), H('3')]),
            new(Guid.NewGuid(), 3, "t", [H('2'), H('3'), H('4')]),
        };
        Assert.Equal(2, FairShare.PreferResident(candidates, new HashSet<string> { H('2'), H('3') }).Seq);
        Assert.Equal(1, FairShare.PreferResident(candidates, new HashSet<string>()).Seq);
        Assert.Equal(1, FairShare.PreferResident(candidates, new HashSet<string> { H('9') }).Seq);
        Assert.Equal(3, FairShare.PreferResident(candidates, new HashSet<string> { H('2'), H('3'), H('4') }).Seq);
    }
}
