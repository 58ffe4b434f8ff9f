using LoraGrains.Cluster.Storage;
using LoraGrains.Cluster.Tenancy;
using LoraGrains.Cluster.Tests.Infrastructure;

namespace LoraGrains.Cluster.Tests;

/// <summary>Tenants and API keys, run against both providers.</summary>
public abstract class TenancyTests(StoreTarget target) : StoreTestBase(target)
{
    [Fact]
    public async Task Api_keys_are_stored_hashed_and_checked_and_revoked()
    {
        var store = await NewStoreAsync();
        await CreateTenantAsync(store, "acme", weight: 2);
        await CreateTenantAsync(store, "globex");
        var key = await store.Tenants.CreateApiKeyAsync("acme");
        var otherKey = await store.Tenants.CreateApiKeyAsync("globex");
        Assert.StartsWith("lg_", key.Secret, StringComparison.Ordinal);
        Assert.DoesNotContain(key.Secret, key.ToString(), StringComparison.Ordinal);

        Assert.Equal(new ApiKeyIdentity("acme", key.KeyId), await store.Tenants.AuthenticateAsync(key.Secret));
        Assert.Equal("globex", (await store.Tenants.AuthenticateAsync(otherKey.Secret))?.TenantId);

        // A wrong secret with a real key id, a made-up key id, and garbage are all simply rejected.
        var last = key.Secret[^1] == 'A' ? 'B' : 'A';
        Assert.Null(await store.Tenants.AuthenticateAsync(key.Secret[..^1] + last));
        Assert.Null(await store.Tenants.AuthenticateAsync("lg_0123456789abcdef." + key.Secret[20..]));
        Assert.Null(await store.Tenants.AuthenticateAsync(otherKey.Secret[..20] + key.Secret[20..]));
        Assert.Null(await store.Tenants.AuthenticateAsync(""));
        Assert.Null(await store.Tenants.AuthenticateAsync(null));
        Assert.Null(await store.Tenants.AuthenticateAsync("Bearer nonsense"));

        // The secret is nowhere in the database, in any table; the key id is (which shows the scan sees the keys table).
        var secretPart = key.Secret[20..];
        var everything = await StoreTarget.DumpAllValuesAsync(store.Database);
        Assert.DoesNotContain(everything, v => v.Contains(secretPart, StringComparison.Ordinal));
        Assert.Contains(everything, v => v == key.KeyId);

        Assert.False(await store.Tenants.RevokeApiKeyAsync("globex", key.KeyId)); // not globex's key
        Assert.True(await store.Tenants.RevokeApiKeyAsync("acme", key.KeyId));
        Assert.False(await store.Tenants.RevokeApiKeyAsync("acme", key.KeyId));
        Assert.Null(await store.Tenants.AuthenticateAsync(key.Secret));
        Assert.NotNull(await store.Tenants.AuthenticateAsync(otherKey.Secret));
        var listed = Assert.Single(await store.Tenants.ListApiKeysAsync("acme"));
        Assert.Equal(key.KeyId, listed.KeyId);
        Assert.NotNull(listed.RevokedAt);
    }

    [Fact]
    public async Task Tenants_are_created_once_validated_and_updated()
    {
        var store = await NewStoreAsync();
        var created = await CreateTenantAsync(store, "acme", weight: 3, maxRunning: 4, maxQueued: 50);
        Assert.Equal(Clock.GetUtcNow(), created.CreatedAt);
        await Assert.ThrowsAsync<AlreadyExistsException>(() => CreateTenantAsync(store, "acme"));
        var bad = await Assert.ThrowsAsync<ArgumentException>(() => CreateTenantAsync(store, "Not Valid"));
        Assert.Contains("id", bad.Message, StringComparison.Ordinal);
        bad = await Assert.ThrowsAsync<ArgumentException>(() => CreateTenantAsync(store, "zero", weight: 0));
        Assert.Contains("weight", bad.Message, StringComparison.Ordinal);

        await store.Tenants.UpdateTenantAsync(created with { Weight = 5, MaxQueuedJobs = 10 });
        var read = await store.Tenants.GetTenantAsync("acme");
        Assert.Equal(created with { Weight = 5, MaxQueuedJobs = 10 }, read);
        Assert.Null(await store.Tenants.GetTenantAsync("nobody"));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => store.Tenants.CreateApiKeyAsync("nobody"));
    }
}

/// <summary>Tenancy on SQLite.</summary>
public sealed class SqliteTenancyTests() : TenancyTests(new SqliteTarget());

/// <summary>Tenancy on PostgreSQL.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresTenancyTests(PostgresServer server) : TenancyTests(new PostgresTarget(server));
