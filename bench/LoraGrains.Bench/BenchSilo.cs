using LoraGrains.Cluster.Runtime;
using LoraGrains.Cluster.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace LoraGrains.Bench;

/// <summary>
/// A real silo (<see cref="SiloHost"/>: Kestrel, store, model, grains, membership, worker, notification listener) hosted
/// in the benchmark process on PostgreSQL, with a tenant URL and a cleartext HTTP/2 peer URL on free loopback ports.
/// </summary>
internal sealed class BenchSilo : IAsyncDisposable
{
    /// <summary>The cluster secret the benchmark silos share.</summary>
    public const string Secret = "bench-cluster-secret";

    private readonly WebApplication _app;

    private BenchSilo(WebApplication app, SiloOptions options)
    {
        _app = app;
        Options = options;
    }

    /// <summary>The silo's options.</summary>
    public SiloOptions Options { get; }

    /// <summary>Its tenant API address.</summary>
    public Uri Address => new(Options.Urls);

    /// <summary>Its services.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>Builds and starts a silo.</summary>
    public static async Task<BenchSilo> StartAsync(string siloId, string connectionString, string dataDirectory, bool runJobs, int threads, Action<SiloOptions>? configure = null)
    {
        var options = new SiloOptions
        {
            SiloId = siloId,
            DataDirectory = dataDirectory,
            DatabaseProvider = ClusterDatabaseProvider.PostgreSql,
            ConnectionString = connectionString,
            Urls = $"http://127.0.0.1:{LoopbackPort.Free()}",
            PeerUrls = $"http://127.0.0.1:{LoopbackPort.Free()}",
            ClusterSecret = Secret,
            RunJobs = runJobs,
            Threads = threads,
            HeartbeatInterval = TimeSpan.FromSeconds(1),
        };
        configure?.Invoke(options);
        var app = await SiloHost.BuildAsync(options, l => l.SetMinimumLevel(LogLevel.Warning));
        await app.StartAsync();
        return new BenchSilo(app, options);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
