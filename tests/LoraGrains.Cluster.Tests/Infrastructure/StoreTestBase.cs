using LoraGrains.Cluster.Storage;
using LoraGrains.Cluster.Tenancy;

namespace LoraGrains.Cluster.Tests.Infrastructure;

/// <summary>
/// Base of the behaviour suites: each suite is written once against this class and run against both
/// providers by two small derived classes. Opens stores on fresh databases, with a shared manual clock,
/// and disposes everything at the end.
/// </summary>
public abstract class StoreTestBase(StoreTarget target) : IAsyncLifetime
{
    private readonly List<ClusterStore> _stores = [];

    /// <summary>The provider under test.</summary>
    protected StoreTarget Target { get; } = target;

    /// <summary>The clock every store of the test reads.</summary>
    protected ManualClock Clock { get; } = new(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));

    /// <summary>Options for a fresh database, on <see cref="Clock"/>.</summary>
    protected async Task<ClusterStoreOptions> NewDatabaseAsync()
    {
        var options = await Target.CreateDatabaseAsync();
        options.TimeProvider = Clock;
        return options;
    }

    /// <summary>Opens (and migrates) a store; it is disposed at the end of the test.</summary>
    protected async Task<ClusterStore> OpenAsync(ClusterStoreOptions options)
    {
        var store = await ClusterStore.OpenAsync(options);
        lock (_stores)
        {
            _stores.Add(store);
        }

        return store;
    }

    /// <summary>A store on a fresh database.</summary>
    protected async Task<ClusterStore> NewStoreAsync() => await OpenAsync(await NewDatabaseAsync());

    /// <summary>Creates a tenant with generous quotas unless told otherwise.</summary>
    protected static Task<Tenant> CreateTenantAsync(ClusterStore store, string id, int weight = 1, int maxRunning = 1000, int maxQueued = 1000) =>
        store.Tenants.CreateTenantAsync(new Tenant(id, $"Tenant {id}", weight, maxRunning, maxQueued));

    /// <inheritdoc />
    public Task InitializeAsync() => Task.CompletedTask;

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }

        await Target.DisposeAsync();
    }
}
