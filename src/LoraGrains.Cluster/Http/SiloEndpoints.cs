using LoraGrains.Client;
using LoraGrains.Cluster.Runtime;
using LoraGrains.Cluster.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace LoraGrains.Cluster.Http;

/// <summary>Health, readiness and metrics (unauthenticated) and the silo-to-silo endpoints (cluster secret).</summary>
public static class SiloEndpoints
{
    /// <summary>Largest message on a denoise link (a pass's latents and text states, or its answer).</summary>
    public const int MaxDenoiseMessageBytes = 256 << 20;

    /// <summary>Maps the endpoints.</summary>
    public static void Map(IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGet("/healthz", () => Results.Text("ok\n")).ExcludeFromDescription();
        app.MapGet("/readyz", ReadyAsync).ExcludeFromDescription();
        app.MapGet("/metrics", (MetricsText metrics) => Results.Text(metrics.Render(), "text/plain; version=0.0.4")).ExcludeFromDescription();

        var peers = app.MapGroup("/internal/v1").AddEndpointFilter<ClusterSecretAuthentication>().ExcludeFromDescription();
        peers.MapGet("/silo", (IOptions<SiloOptions> options, AdapterResidency residency, GrainRuntime grains, JobWorker worker) => Results.Json(new
        {
            siloId = options.Value.SiloId,
            address = options.Value.EffectiveAddress,
            residentAdapters = residency.ResidentHashes,
            residentBytes = residency.ResidentBytes,
            adapterTiers = residency.Tiers.Select(t => new { tier = SiloMetrics.TierTag(t.Tier), adapters = t.Hashes, bytes = t.Bytes, budget = t.Budget, pinnedBytes = t.PinnedBytes }),
            adapterMoves = new { promotions = residency.Promotions, loads = residency.Loads, demotions = residency.Demotions, evictions = residency.Evictions },
            activations = grains.ActivationCount,
            currentJob = worker.CurrentJob,
        }, LoraGrainsJson.Options));
        peers.MapGet("/denoise/link", DenoiseLinkEndpoint.ServeAsync);
        peers.MapGet("/jobs/{id:guid}/progress", (Guid id, JobProgressBoard board) =>
            board.Get(id) is { } progress ? Results.Json(progress, LoraGrainsJson.Options) : Results.NotFound());
    }

    private static async Task<IResult> ReadyAsync(ClusterStore store, SiloMembership membership, IOptions<SiloOptions> options, IHostApplicationLifetime lifetime, CancellationToken ct)
    {
        if (lifetime.ApplicationStopping.IsCancellationRequested || !membership.IsRegistered)
        {
            return Results.Text("draining\n", statusCode: 503);
        }

        try
        {
            _ = await store.Membership.GetAsync(options.Value.SiloId, ct);
            return Results.Text("ready\n");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return Results.Text($"database unreachable: {e.Message}\n", statusCode: 503);
        }
    }
}
