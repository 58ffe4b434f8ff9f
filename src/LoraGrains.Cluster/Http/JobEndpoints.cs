using System.Text.Json;
using LoraGrains.Client;
using LoraGrains.Cluster.Grains;
using LoraGrains.Cluster.Queue;
using LoraGrains.Cluster.Runtime;
using LoraGrains.Cluster.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace LoraGrains.Cluster.Http;

/// <summary>
/// <c>/v1/jobs</c>: submit (202 with the id only after the row is committed), read, cancel, progress as
/// Server-Sent Events, image download. A tenant sees only its own jobs; others' ids are 404.
/// </summary>
public static class JobEndpoints
{
    /// <summary>Maps the endpoints on the tenant group.</summary>
    public static void Map(RouteGroupBuilder api)
    {
        ArgumentNullException.ThrowIfNull(api);
        api.MapPost("/jobs", SubmitAsync).Accepts<JobRequest>("application/json").Produces<JobAccepted>(202).Produces<ApiError>(400);
        api.MapGet("/jobs/{jobId}", GetAsync).Produces<JobInfo>();
        api.MapPost("/jobs/{jobId}/cancel", CancelAsync).Produces<JobInfo>(202);
        api.MapGet("/jobs/{jobId}/events", WatchAsync).Produces<JobProgress>(200, "text/event-stream");
        api.MapGet("/jobs/{jobId}/image", ImageAsync).Produces(200, contentType: "image/png");
    }

    /// <summary>The API view of a job record.</summary>
    public static JobInfo ToInfo(JobRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return new JobInfo(record.JobId, record.SessionId, Status(record.Status), record.Attempts, record.CheckpointStep, record.LeaseOwner,
            record.ResultSha256, record.Error, record.CreatedAt, record.StartedAt, record.FinishedAt);
    }

    // Any id that is not one of the tenant's jobs, malformed ones included, is the same 404.
    private static Guid ParseJobId(string jobId) =>
        Guid.TryParse(jobId, out var id) ? id : throw new HttpApiException(404, $"job {jobId} not found");

    private static string Status(JobStatus status) => status.ToString().ToLowerInvariant();

    private static async Task<IResult> SubmitAsync(
        HttpContext http, ClusterStore store, GrainRuntime grains, ModelHost host, SiloMetrics metrics, JobSignal signal, IOptions<SiloOptions> options)
    {
        var tenant = TenantAuthentication.TenantOf(http);
        var body = await RequestBody.ReadJsonAsync<JobRequest>(http.Request, options.Value.MaxJsonBodyBytes, http.RequestAborted);
        SessionRecord? session = null;
        if (body.SessionId is { } sessionId)
        {
            StorageKeys.Id(sessionId, "sessionId");
            session = await grains.CallAsync<SessionGrain, SessionRecord?>(SessionGrain.KeyOf(tenant, sessionId), g => g.GetAsync(http.RequestAborted), http.RequestAborted)
                ?? throw new HttpApiException(404, $"session '{sessionId}' not found", "sessionId");
        }

        var resolved = JobRequestResolver.Resolve(body, session, host.NativeSize);
        var adapters = new List<JobAdapter>(resolved.Adapters!.Count);
        foreach (var adapter in resolved.Adapters!)
        {
            var record = await store.Adapters.GetAsync(tenant, adapter.Hash, http.RequestAborted)
                ?? throw new HttpApiException(404, $"adapter {adapter.Hash} not found", "adapters");

            // The image's metadata names adapters as the tenant registered them (files are stored by hash).
            adapters.Add(adapter.Name is null ? adapter with { Name = record.Name } : adapter);
        }

        resolved = resolved with { Adapters = adapters };

        var json = JsonSerializer.Serialize(resolved, LoraGrainsJson.Options);
        var submission = new JobSubmission(tenant, resolved.SessionId, json, [.. resolved.Adapters!.Select(a => a.Hash)]);
        Guid id;
        if (signal.TryReserve())
        {
            // This silo's worker is idle: when nothing else is waiting, the job is leased to it in the submit's own
            // transaction and handed over, so it starts without a wake-up or a claim's round trips (and no other idle
            // silo is woken for an empty claim).
            ClaimedJob? claimed = null;
            try
            {
                (id, claimed) = await store.Jobs.SubmitAndClaimIfIdleAsync(submission, options.Value.SiloId, options.Value.LeaseDuration, http.RequestAborted);
                metrics.JobsSubmitted.Add(1);
            }
            finally
            {
                signal.HandOver(claimed);
            }
        }
        else
        {
            id = await store.Jobs.SubmitAsync(submission, http.RequestAborted);
            metrics.JobsSubmitted.Add(1);
            // On PostgreSQL the commit's NOTIFY wakes this silo's worker too. Waking it from here as well made the claim's
            // tail worse, not better: this thread goes on to write the answer, and a woken thread may queue behind it on
            // its CPU (docs/benchmarks.md, session 4), while the database backend that sends the NOTIFY goes idle at once.
            if (store.Database.NotifyJobsReady.Length == 0)
            {
                signal.Notify();
            }
        }

        http.Response.Headers.Location = $"/v1/jobs/{id}";
        return Results.Json(new JobAccepted(id), LoraGrainsJson.Options, statusCode: 202);
    }

    private static async Task<IResult> GetAsync(string jobId, HttpContext http, ClusterStore store)
    {
        var id = ParseJobId(jobId);
        var record = await store.Jobs.GetAsync(TenantAuthentication.TenantOf(http), id, http.RequestAborted)
            ?? throw new HttpApiException(404, $"job {id} not found");
        return Results.Json(ToInfo(record), LoraGrainsJson.Options);
    }

    private static async Task<IResult> CancelAsync(string jobId, HttpContext http, ClusterStore store)
    {
        var id = ParseJobId(jobId);
        var tenant = TenantAuthentication.TenantOf(http);
        _ = await store.Jobs.RequestCancelAsync(tenant, id, http.RequestAborted) ?? throw new HttpApiException(404, $"job {id} not found");
        var record = await store.Jobs.GetAsync(tenant, id, http.RequestAborted) ?? throw new HttpApiException(404, $"job {id} not found");
        return Results.Json(ToInfo(record), LoraGrainsJson.Options, statusCode: 202);
    }

    private static async Task<IResult> ImageAsync(string jobId, HttpContext http, ClusterStore store, int? index)
    {
        var id = ParseJobId(jobId);
        if (index is < 0 or >= Diffusion.Pipeline.GenerationRequest.MaxBatchSize)
        {
            throw new HttpApiException(400, $"index must be between 0 and {Diffusion.Pipeline.GenerationRequest.MaxBatchSize - 1} (got {index})", "index");
        }

        var record = await store.Jobs.GetAsync(TenantAuthentication.TenantOf(http), id, http.RequestAborted)
            ?? throw new HttpApiException(404, $"job {id} not found");
        if (record.Status != JobStatus.Succeeded || record.ResultPath is null)
        {
            throw new HttpApiException(409, $"job {id} is {Status(record.Status)}; its image exists once it has succeeded");
        }

        if (index is > 0)
        {
            var path = SiloFiles.BatchImagePath(record.ResultPath, index.Value);
            return File.Exists(path)
                ? Results.File(path, "image/png", $"{id}-{index}.png")
                : throw new HttpApiException(404, $"job {id} has no image {index} (its batch is smaller)", "index");
        }

        if (!File.Exists(record.ResultPath))
        {
            throw new HttpApiException(500, $"the image of job {id} is missing from the data directory");
        }

        http.Response.Headers["X-Image-Sha256"] = record.ResultSha256;
        return Results.File(record.ResultPath, "image/png", $"{id}.png");
    }

    private static async Task WatchAsync(string jobId, HttpContext http, ClusterStore store, JobProgressBoard board, SiloPeers peers, IHostApplicationLifetime lifetime, IOptions<SiloOptions> options)
    {
        var interval = options.Value.ProgressInterval;
        var id = ParseJobId(jobId);
        var tenant = TenantAuthentication.TenantOf(http);
        var requestJson = await store.Jobs.GetRequestAsync(tenant, id, http.RequestAborted)
            ?? throw new HttpApiException(404, $"job {id} not found");
        var total = JsonSerializer.Deserialize<JobRequest>(requestJson, LoraGrainsJson.Options)?.Steps ?? 0;
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers["X-Accel-Buffering"] = "no";
        JobProgress? last = null;
        // A stopping silo ends its streams (clients reconnect elsewhere) instead of holding up its shutdown.
        using var streaming = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, lifetime.ApplicationStopping);
        var ct = streaming.Token;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var record = await store.Jobs.GetAsync(tenant, id, ct);
                if (record is null)
                {
                    return;
                }

                JobProgress progress;
                if (record.Status == JobStatus.Running)
                {
                    var live = board.Get(id) ?? (record.LeaseOwner is { } owner ? await peers.GetProgressAsync(owner, id, ct) : null);
                    progress = live ?? new JobProgress(id, "running", record.CheckpointStep ?? 0, total, record.LeaseOwner);
                }
                else
                {
                    var done = record.Status == JobStatus.Succeeded ? total : record.CheckpointStep ?? 0;
                    progress = new JobProgress(id, Status(record.Status), done, total, record.LeaseOwner, record.Error);
                }

                if (progress != last)
                {
                    await http.Response.WriteAsync($"event: progress\ndata: {JsonSerializer.Serialize(progress, LoraGrainsJson.Options)}\n\n", ct);
                    await http.Response.Body.FlushAsync(ct);
                    last = progress;
                }

                if (progress.IsFinal)
                {
                    return;
                }

                await Task.Delay(interval, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }
}
