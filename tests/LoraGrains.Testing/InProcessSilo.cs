using LoraGrains.Cluster.Runtime;
using LoraGrains.Cluster.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace LoraGrains.Testing;

/// <summary>
/// A real silo (<see cref="SiloHost"/>: Kestrel, store, model, grains, membership, worker, notification listener) hosted
/// in this process on PostgreSQL, with its tenant URL on a free loopback port: for tests and benchmarks that need the
/// silo's services or options no command line sets. Stopped (drained) on dispose.
/// </summary>
public sealed class InProcessSilo : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string? _ownDataDirectory;

    private InProcessSilo(WebApplication app, SiloOptions options, string? ownDataDirectory)
    {
        _app = app;
        Options = options;
        _ownDataDirectory = ownDataDirectory;
    }

    /// <summary>The silo's options.</summary>
    public SiloOptions Options { get; }

    /// <summary>Its tenant API address.</summary>
    public Uri Address => new(Options.Urls);

    /// <summary>Its services.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>Builds and starts a silo with one libtorch thread.</summary>
    /// <param name="siloId">The silo's id.</param>
    /// <param name="connectionString">The cluster database.</param>
    /// <param name="dataDirectory">A data directory shared with other silos, or <see langword="null"/> for one of its own, deleted on dispose.</param>
    /// <param name="configure">Further option changes.</param>
    public static async Task<InProcessSilo> StartAsync(string siloId, string connectionString, string? dataDirectory = null, Action<SiloOptions>? configure = null)
    {
        var own = dataDirectory is null ? Path.Combine(Path.GetTempPath(), $"lg-inproc-{Guid.NewGuid():N}") : null;
        var options = new SiloOptions
        {
            SiloId = siloId,
            DataDirectory = dataDirectory ?? own!,
            DatabaseProvider = ClusterDatabaseProvider.PostgreSql,
            ConnectionString = connectionString,
            Urls = $"http://127.0.0.1:{LoopbackPort.Free()}",
            Threads = 1,
        };
        configure?.Invoke(options);
        var app = await SiloHost.BuildAsync(options, l => l.SetMinimumLevel(LogLevel.Warning)).ConfigureAwait(false);
        await app.StartAsync().ConfigureAwait(false);
        return new InProcessSilo(app, options, own);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        if (_ownDataDirectory is not null && Directory.Exists(_ownDataDirectory))
        {
            Directory.Delete(_ownDataDirectory, recursive: true);
        }
    }
}
