using LoraGrains.Client;
using LoraGrains.Cluster.Storage;
using LoraGrains.Cluster.Tenancy;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace LoraGrains.Cluster.Runtime;

/// <summary>
/// The embedded mode: one silo in this process on SQLite, listening on a free loopback port, with a local tenant,
/// and a <see cref="LoraGrainsClient"/> to it — the same client interface as a remote cluster. The client's API key
/// is issued at start and revoked at dispose, so no run leaves a valid key behind in the data directory.
/// </summary>
public sealed class EmbeddedLoraGrains : IAsyncDisposable
{
    /// <summary>The local tenant's id.</summary>
    public const string LocalTenant = "local";

    private readonly WebApplication _silo;
    private readonly string _keyId;

    private EmbeddedLoraGrains(WebApplication silo, Uri address, IssuedApiKey key)
    {
        _silo = silo;
        _keyId = key.KeyId;
        Address = address;
        Client = new LoraGrainsClient(address, key.Secret);
    }

    /// <summary>The loopback address the silo listens on (its HTTP API, <c>/metrics</c> and <c>/readyz</c>).</summary>
    public Uri Address { get; }

    /// <summary>A client of the embedded silo, authenticated as the local tenant.</summary>
    public LoraGrainsClient Client { get; }

    /// <summary>Starts a silo on SQLite in <paramref name="dataDirectory"/>.</summary>
    /// <param name="dataDirectory">Database, adapters and images.</param>
    /// <param name="configure">Further option changes (model, device…).</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    public static async Task<EmbeddedLoraGrains> StartAsync(string dataDirectory, Action<SiloOptions>? configure = null, CancellationToken cancellationToken = default)
    {
        var port = LoopbackPort.Free();

        var options = new SiloOptions
        {
            DataDirectory = dataDirectory,
            DatabaseProvider = ClusterDatabaseProvider.Sqlite,
            Urls = $"http://127.0.0.1:{port}",
            SiloId = "embedded",
            // One local client: progress every step or two costs a SQLite read, and ends the run's wait sooner.
            ProgressInterval = TimeSpan.FromMilliseconds(50),
        };
        configure?.Invoke(options);
        // Warnings and errors only, on standard error: standard output belongs to the program embedding the silo.
        var silo = await SiloHost.BuildAsync(options, l =>
        {
            l.SetMinimumLevel(LogLevel.Warning);
            l.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        }, cancellationToken).ConfigureAwait(false);
        var store = silo.Services.GetRequiredService<ClusterStore>();
        try
        {
            await store.Tenants.CreateTenantAsync(new Tenant(LocalTenant, "local", 1, 16, 10_000), cancellationToken).ConfigureAwait(false);
        }
        catch (AlreadyExistsException)
        {
        }

        var key = await store.Tenants.CreateApiKeyAsync(LocalTenant, cancellationToken).ConfigureAwait(false);
        await silo.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = new Uri(options.Urls);
        return new EmbeddedLoraGrains(silo, address, key);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        try
        {
            await _silo.StopAsync().ConfigureAwait(false);
            await _silo.Services.GetRequiredService<ClusterStore>().Tenants.RevokeApiKeyAsync(LocalTenant, _keyId).ConfigureAwait(false);
        }
        finally
        {
            await _silo.DisposeAsync().ConfigureAwait(false);
        }
    }
}
