using LoraGrains.Client;
using LoraGrains.Cluster.Storage;
using LoraGrains.Cluster.Tenancy;
using LoraGrains.Testing;

namespace LoraGrains.Cluster.Tests.Infrastructure;

/// <summary>
/// A test cluster: a fresh PostgreSQL database on the shared test server, a shared data directory, tenants made
/// directly in the store, and real silo processes started and stopped on demand.
/// </summary>
public sealed class SiloCluster : IAsyncDisposable
{
    private readonly List<SiloProcess> _silos = [];
    private readonly List<LoraGrainsClient> _clients = [];

    private SiloCluster(string connectionString, string dataDirectory, ClusterStore store)
    {
        ConnectionString = connectionString;
        DataDirectory = dataDirectory;
        Store = store;
    }

    /// <summary>The cluster's database.</summary>
    public string ConnectionString { get; }

    /// <summary>The shared data directory.</summary>
    public string DataDirectory { get; }

    /// <summary>The store, opened in the test process (to make tenants and to inspect rows).</summary>
    public ClusterStore Store { get; }

    /// <summary>Silos started so far (dead ones included).</summary>
    public IReadOnlyList<SiloProcess> Silos => _silos;

    /// <summary>Creates the database and the data directory.</summary>
    public static async Task<SiloCluster> CreateAsync(PostgresServer server)
    {
        var connection = await server.CreateDatabaseAsync();
        var data = Path.Combine(Path.GetTempPath(), $"lg-silo-{Guid.NewGuid():N}");
        Directory.CreateDirectory(data);
        var store = await ClusterStore.OpenAsync(new ClusterStoreOptions { Provider = ClusterDatabaseProvider.PostgreSql, ConnectionString = connection });
        return new SiloCluster(connection, data, store);
    }

    /// <summary>Starts a silo process.</summary>
    public async Task<SiloProcess> StartSiloAsync(string siloId, params string[] extra)
    {
        var silo = await SiloProcess.StartAsync(siloId, ConnectionString, DataDirectory, extra);
        _silos.Add(silo);
        return silo;
    }

    /// <summary>Starts a silo process serving https with <paramref name="tls"/>'s server certificate.</summary>
    public async Task<SiloProcess> StartHttpsSiloAsync(string siloId, TestCertificates tls, params string[] extra)
    {
        var silo = await SiloProcess.StartHttpsAsync(siloId, ConnectionString, DataDirectory, tls, extra);
        _silos.Add(silo);
        return silo;
    }

    /// <summary>Creates a tenant and returns its API key.</summary>
    public async Task<string> CreateTenantAsync(string id, int weight = 1, int maxRunning = 100, int maxQueued = 10_000)
    {
        await Store.Tenants.CreateTenantAsync(new Tenant(id, id, weight, maxRunning, maxQueued));
        return (await Store.Tenants.CreateApiKeyAsync(id)).Secret;
    }

    /// <summary>A client of <paramref name="silo"/> with <paramref name="apiKey"/>.</summary>
    public LoraGrainsClient Client(SiloProcess silo, string apiKey)
    {
        ArgumentNullException.ThrowIfNull(silo);
        var client = new LoraGrainsClient(silo.Address, apiKey);
        _clients.Add(client);
        return client;
    }

    /// <summary>Everything the silos printed, for failure messages.</summary>
    public string Logs => string.Join("\n", _silos.Select(s => $"==== {s.SiloId} ====\n{s.Output}"));

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }

        foreach (var silo in _silos)
        {
            await silo.DisposeAsync();
        }

        await Store.DisposeAsync();
        if (Directory.Exists(DataDirectory))
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
    }
}
