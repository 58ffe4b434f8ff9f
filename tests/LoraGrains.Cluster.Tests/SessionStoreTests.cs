using System.Text.Json.Nodes;
using LoraGrains.Cluster.Storage;
using LoraGrains.Cluster.Tests.Infrastructure;

namespace LoraGrains.Cluster.Tests;

/// <summary>Version-checked session writes, run against both providers.</summary>
public abstract class SessionStoreTests(StoreTarget target) : StoreTestBase(target)
{
    // PostgreSQL stores jsonb in a canonical form, so compare documents, not text.
    private static void AssertSameJson(string expected, string actual) =>
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), JsonNode.Parse(actual)), $"expected {expected}, got {actual}");

    [Fact]
    public async Task Create_get_update_and_version_checks()
    {
        var store = await NewStoreAsync();
        await CreateTenantAsync(store, "acme");
        var created = await store.Sessions.CreateAsync("acme", "s1", """{"steps":20}""", """["style"]""");
        Assert.Equal(1, created.Version);
        await Assert.ThrowsAsync<AlreadyExistsException>(() => store.Sessions.CreateAsync("acme", "s1", "{}", "[]"));

        Clock.Advance(TimeSpan.FromSeconds(5));
        var updated = await store.Sessions.UpdateAsync("acme", "s1", 1, """{"steps":30}""", """["style","character"]""");
        Assert.Equal(2, updated.Version);
        Assert.Equal(created.CreatedAt, updated.CreatedAt);
        Assert.Equal(created.UpdatedAt + TimeSpan.FromSeconds(5), updated.UpdatedAt);

        var stale = await Assert.ThrowsAsync<ConcurrencyConflictException>(() => store.Sessions.UpdateAsync("acme", "s1", 1, "{}", "[]"));
        Assert.Equal(1, stale.ExpectedVersion);
        Assert.Equal(2, stale.ActualVersion);

        var read = await store.Sessions.GetAsync("acme", "s1");
        Assert.Equal(2, read?.Version);
        AssertSameJson("""{"steps":30}""", read!.SettingsJson);
        AssertSameJson("""["style","character"]""", read.AdapterSetJson);

        await Assert.ThrowsAsync<KeyNotFoundException>(() => store.Sessions.UpdateAsync("acme", "nope", 1, "{}", "[]"));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => store.Sessions.CreateAsync("ghost", "s1", "{}", "[]"));
        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => store.Sessions.DeleteAsync("acme", "s1", 1));
        Assert.True(await store.Sessions.DeleteAsync("acme", "s1", 2));
        Assert.Null(await store.Sessions.GetAsync("acme", "s1"));
    }

    [Fact]
    public async Task Tenants_see_only_their_own_sessions()
    {
        var store = await NewStoreAsync();
        await CreateTenantAsync(store, "acme");
        await CreateTenantAsync(store, "globex");
        await store.Sessions.CreateAsync("acme", "shared-name", """{"owner":"acme"}""", "[]");
        Assert.Null(await store.Sessions.GetAsync("globex", "shared-name"));
        var theirs = await store.Sessions.CreateAsync("globex", "shared-name", """{"owner":"globex"}""", "[]");
        Assert.Equal(1, theirs.Version);
        AssertSameJson("""{"owner":"acme"}""", (await store.Sessions.GetAsync("acme", "shared-name"))!.SettingsJson);
    }

    [Fact]
    public async Task Concurrent_updates_of_one_version_have_exactly_one_winner_and_lose_nothing()
    {
        var options = await NewDatabaseAsync();
        var writers = new List<ClusterStore>();
        for (var i = 0; i < 3; i++)
        {
            writers.Add(await OpenAsync(options));
        }

        await CreateTenantAsync(writers[0], "acme");
        await writers[0].Sessions.CreateAsync("acme", "s1", """{"writer":-1}""", "[]");
        for (var round = 1; round <= 10; round++)
        {
            using var go = new ManualResetEventSlim();
            var attempts = writers.Select((writer, index) => Task.Run(async () =>
            {
                go.Wait();
                try
                {
                    await writer.Sessions.UpdateAsync("acme", "s1", round, $$"""{"writer":{{index}}}""", "[]");
                    return (Index: index, Won: true);
                }
                catch (ConcurrencyConflictException e)
                {
                    Assert.Equal(round + 1, e.ActualVersion);
                    return (Index: index, Won: false);
                }
            })).ToList();
            go.Set();
            var results = await Task.WhenAll(attempts);

            var winners = results.Where(r => r.Won).ToList();
            Assert.Single(winners);
            var stored = await writers[0].Sessions.GetAsync("acme", "s1");
            Assert.Equal(round + 1, stored?.Version);
            AssertSameJson($$"""{"writer":{{winners[0].Index}}}""", stored!.SettingsJson);
        }
    }

    [Fact]
    public async Task Bad_documents_are_refused_with_the_field_named()
    {
        var store = await NewStoreAsync();
        await CreateTenantAsync(store, "acme");
        var e = await Assert.ThrowsAsync<ArgumentException>(() => store.Sessions.CreateAsync("acme", "s1", "{", "[]"));
        Assert.Equal("settingsJson", e.ParamName);
        e = await Assert.ThrowsAsync<ArgumentException>(() => store.Sessions.CreateAsync("acme", "s1", "{}", "{}"));
        Assert.Equal("adapterSetJson", e.ParamName);
        e = await Assert.ThrowsAsync<ArgumentException>(() => store.Sessions.CreateAsync("acme", "bad id!", "{}", "[]"));
        Assert.Equal("sessionId", e.ParamName);
        e = await Assert.ThrowsAsync<ArgumentException>(() => store.Sessions.CreateAsync("acme", "s1", new string(' ', SessionStore.MaxSettingsChars + 1), "[]"));
        Assert.Contains("limit", e.Message, StringComparison.Ordinal);
        Assert.Null(await store.Sessions.GetAsync("acme", "s1"));
    }
}

/// <summary>Sessions on SQLite.</summary>
public sealed class SqliteSessionStoreTests() : SessionStoreTests(new SqliteTarget());

/// <summary>Sessions on PostgreSQL.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresSessionStoreTests(PostgresServer server) : SessionStoreTests(new PostgresTarget(server));
