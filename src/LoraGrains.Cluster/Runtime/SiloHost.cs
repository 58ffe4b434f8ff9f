using LoraGrains.Cluster.Http;
using LoraGrains.Cluster.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LoraGrains.Cluster.Runtime;

/// <summary>
/// Builds a silo: Generic Host + ASP.NET Core minimal APIs on Kestrel (HTTP/1.1 and HTTP/2), the cluster store
/// (opened and migrated first), the model, the grain runtime, membership and the job worker.
/// </summary>
public static class SiloHost
{
    /// <summary>How long a stopping silo may take to release its work and leave the membership table.</summary>
    public static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Opens the store and builds the silo; run it with <c>RunAsync</c> (stops on SIGTERM/Ctrl+C, draining first).</summary>
    /// <param name="options">The silo's options.</param>
    /// <param name="configureLogging">Changes to the default console logging.</param>
    /// <param name="cancellationToken">Cancels opening the store.</param>
    public static async Task<WebApplication> BuildAsync(SiloOptions options, Action<ILoggingBuilder>? configureLogging = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        configureLogging?.Invoke(builder.Logging);

        var tls = SiloTls.Load(options);
        // Registered through a factory so that the container disposes it with the silo.
        builder.Services.AddSingleton(_ => tls);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            foreach (var url in SiloOptions.Split(options.Urls + ";" + options.PeerUrls))
            {
                KestrelEndpoint.Listen(kestrel, url, tls.Certificate);
            }

            kestrel.Limits.MaxRequestBodySize = options.MaxAdapterUploadBytes + Http.RequestBody.DrainLimit;
        });
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = ShutdownTimeout);

        using (var bootLogging = LoggerFactory.Create(l =>
        {
            l.AddSimpleConsole(o => o.SingleLine = true);
            configureLogging?.Invoke(l);
        }))
        {
            Directory.CreateDirectory(options.DataDirectory);
            var store = await ClusterStore.OpenAsync(options.ToStoreOptions(), bootLogging, cancellationToken).ConfigureAwait(false);
            builder.Services.AddSingleton(_ => store);
        }

        builder.Services.AddSingleton(Options.Create(options));
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddMetrics();
        builder.Services.AddOpenApi();
        if (options.OtlpEndpoint is { Length: > 0 } otlp)
        {
            MetricsExport.AddOtlp(builder.Services, options.SiloId, otlp, options.MetricsExportInterval);
        }

        builder.Services.AddSingleton<SiloFiles>();
        builder.Services.AddSingleton<ModelHost>();
        builder.Services.AddSingleton(_ => new PassThread("denoiser"));
        builder.Services.AddSingleton<AdapterResidency>();
        builder.Services.AddSingleton<GrainRuntime>();
        builder.Services.AddSingleton<JobProgressBoard>();
        builder.Services.AddSingleton<JobSignal>();
        builder.Services.AddSingleton<SiloMetrics>();
        builder.Services.AddSingleton<MetricsText>();
        builder.Services.AddSingleton<SiloPeers>();
        builder.Services.AddSingleton<ClusterView>();
        // Stopped in reverse order: the worker releases its job first, then membership leaves.
        builder.Services.AddSingleton<SiloMembership>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SiloMembership>());
        builder.Services.AddSingleton<JobWorker>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<JobWorker>());
        builder.Services.AddSingleton<JobNotificationListener>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<JobNotificationListener>());

        var app = builder.Build();
        // Load the model and start listening to the meter before the first request.
        app.Services.GetRequiredService<ModelHost>();
        app.Services.GetRequiredService<MetricsText>();
        app.UseMiddleware<ApiErrorMiddleware>();
        app.MapOpenApi();
        var api = app.MapGroup("/v1").AddEndpointFilter<TenantAuthentication>();
        SessionEndpoints.Map(api);
        AdapterEndpoints.Map(api);
        JobEndpoints.Map(api);
        SiloEndpoints.Map(app);
        return app;
    }

    private static void Validate(SiloOptions options)
    {
        if (options.LeaseDuration < Queue.JobQueue.MinLease || options.LeaseDuration > Queue.JobQueue.MaxLease)
        {
            throw new ArgumentException($"lease must be between {Queue.JobQueue.MinLease} and {Queue.JobQueue.MaxLease} (got {options.LeaseDuration})", nameof(options));
        }

        if (options.HeartbeatInterval <= TimeSpan.Zero || options.PollInterval <= TimeSpan.Zero || options.ProgressInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException("heartbeat, poll and progress intervals must be positive", nameof(options));
        }

        if (options.DatabaseProvider == ClusterDatabaseProvider.PostgreSql && string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            throw new ArgumentException("a PostgreSQL connection string is required", nameof(options));
        }

        if (options.AdapterBudgetBytes <= 0 || options.MaxAdapterUploadBytes <= 0)
        {
            throw new ArgumentException("the adapter budget and upload limit must be positive", nameof(options));
        }

        if (options.AdapterHostBudgetBytes < 0)
        {
            throw new ArgumentException($"the adapter host budget must be 0 (no host tier) or positive (got {options.AdapterHostBudgetBytes})", nameof(options));
        }
    }
}
