using LoraGrains.Cluster.Runtime;
using LoraGrains.Cluster.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace LoraGrains.Cluster.Tests.Infrastructure;

/// <summary>
/// A silo hosted in the test process on a PostgreSQL database (for tests that need its services, or a poll interval
/// no command line sets), on a free loopback port with its own data directory; stopped, drained and deleted at the end.
/// </summary>
public sealed class InProcessSilo : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _dataDirectory;

    private InProcessSilo(WebApplication app, string dataDirectory)
    {
        _app = app;
        _dataDirectory = dataDirectory;
    }

    /// <summary>The silo's services.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>Builds and starts a silo that claims jobs, polling every <paramref name="pollInterval"/>.</summary>
    public static async Task<InProcessSilo> StartAsync(string connectionString, string siloId, TimeSpan pollInterval)
    {
        var port = LoopbackPort.Free();

        var data = Path.Combine(Path.GetTempPath(), $"lg-inproc-{Guid.NewGuid():N}");
        var app = await SiloHost.BuildAsync(new SiloOptions
        {
            SiloId = siloId,
            DataDirectory = data,
            DatabaseProvider = ClusterDatabaseProvider.PostgreSql,
            ConnectionString = connectionString,
            Urls = $"http://127.0.0.1:{port}",
            PollInterval = pollInterval,
            Threads = 1,
        }, l => l.SetMinimumLevel(LogLevel.Warning));
        await app.StartAsync();
        return new InProcessSilo(app, data);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }
}
