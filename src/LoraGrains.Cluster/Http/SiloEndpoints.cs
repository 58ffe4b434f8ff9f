using System.Diagnostics;
using System.Globalization;
using LoraGrains.Client;
using LoraGrains.Cluster.Grains;
using LoraGrains.Cluster.Runtime;
using LoraGrains.Diffusion.Schedulers;
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
    /// <summary>Largest denoise request (latents and text states of one pass).</summary>
    public const int MaxDenoiseBodyBytes = 256 << 20;

    /// <summary>The <c>Server-Timing</c> metric of a denoise answer: the pass's time on the peer (grain turn), in ms.</summary>
    public const string DenoiseTiming = "denoise";

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
        peers.MapPost("/denoise", async (HttpContext http, GrainRuntime grains, IOptions<SiloOptions> options) =>
        {
            var request = await DenoiseRequest.ReadAsync(http.Request, MaxDenoiseBodyBytes, http.RequestAborted);
            var started = Stopwatch.GetTimestamp();
            var noise = await grains.CallAsync<DenoiserGrain, byte[]>(options.Value.SiloId, g => g.DenoiseAsync(request, http.RequestAborted), http.RequestAborted);
            // The caller subtracts the pass's own time from its round trip: what is left is the cost of going remote.
            http.Response.Headers["Server-Timing"] = string.Create(CultureInfo.InvariantCulture, $"{DenoiseTiming};dur={Stopwatch.GetElapsedTime(started).TotalMilliseconds:F3}");
            return Results.Bytes(noise, TensorFrames.ContentType);
        });
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
