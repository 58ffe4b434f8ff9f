using LoraGrains.Cluster.Membership;
using LoraGrains.Cluster.Tests.Infrastructure;

namespace LoraGrains.Cluster.Tests;

/// <summary>Silo membership, run against both providers.</summary>
public abstract class MembershipTests(StoreTarget target) : StoreTestBase(target)
{
    private static readonly TimeSpan s_deadAfter = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Silos_register_heartbeat_die_drain_and_leave()
    {
        var store = await NewStoreAsync();
        await store.Membership.RegisterAsync("silo-a", "http://127.0.0.1:5001");
        await store.Membership.RegisterAsync("silo-b", "http://127.0.0.1:5002");
        Assert.Equal(["silo-a", "silo-b"], (await store.Membership.ListLiveAsync(s_deadAfter)).Select(s => s.SiloId));

        var resident = new[] { new string('a', 64), new string('b', 64) };
        Clock.Advance(TimeSpan.FromSeconds(10));
        await store.Membership.HeartbeatAsync("silo-a", resident);
        Clock.Advance(TimeSpan.FromSeconds(10));

        // silo-b's last heartbeat is 20 s old: dead to everybody, whatever its status says.
        var live = Assert.Single(await store.Membership.ListLiveAsync(s_deadAfter));
        Assert.Equal("silo-a", live.SiloId);
        Assert.Equal(SiloStatus.Active, live.Status);
        Assert.Equal(resident, live.ResidentAdapters);
        Assert.Equal(Clock.GetUtcNow() - TimeSpan.FromSeconds(10), live.HeartbeatAt);

        await store.Membership.BeginDrainAsync("silo-a");
        Assert.Equal(SiloStatus.Draining, Assert.Single(await store.Membership.ListLiveAsync(s_deadAfter)).Status);
        await store.Membership.LeaveAsync("silo-a");
        Assert.Empty(await store.Membership.ListLiveAsync(s_deadAfter));
        Assert.Equal(SiloStatus.Left, (await store.Membership.GetAsync("silo-a"))?.Status);
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.Membership.HeartbeatAsync("silo-a", []));

        // A silo that comes back registers again as a fresh member.
        await store.Membership.RegisterAsync("silo-a", "http://127.0.0.1:5003");
        var back = Assert.Single(await store.Membership.ListLiveAsync(s_deadAfter));
        Assert.Equal(("http://127.0.0.1:5003", SiloStatus.Active), (back.Address, back.Status));
        Assert.Empty(back.ResidentAdapters);
    }

    [Fact]
    public async Task Bad_membership_input_is_refused()
    {
        var store = await NewStoreAsync();
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.Membership.HeartbeatAsync("never-registered", []));
        await Assert.ThrowsAsync<ArgumentException>(() => store.Membership.RegisterAsync("bad id", "http://x"));
        await store.Membership.RegisterAsync("silo-a", "http://x");
        await Assert.ThrowsAsync<ArgumentException>(() => store.Membership.HeartbeatAsync("silo-a", ["not-a-hash"]));
    }
}

/// <summary>Membership on SQLite.</summary>
public sealed class SqliteMembershipTests() : MembershipTests(new SqliteTarget());

/// <summary>Membership on PostgreSQL.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresMembershipTests(PostgresServer server) : MembershipTests(new PostgresTarget(server));
