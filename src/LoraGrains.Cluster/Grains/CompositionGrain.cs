using System.Text.Json;
using LoraGrains.Client;
using LoraGrains.Cluster.Queue;
using LoraGrains.Cluster.Runtime;
using LoraGrains.Cluster.Storage;
using LoraGrains.Diffusion.Pipeline;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LoraGrains.Cluster.Grains;

/// <summary>
/// Runs one job (key = job id): attaches its adapters, resumes from its checkpoint if it has one, denoises with
/// progress per step and checkpoints every <see cref="JobRequest.CheckpointEvery"/> steps, stores the PNG in the data
/// directory and completes the job with the image's SHA-256. The caller owns the lease and decides what a failure means.
/// </summary>
public sealed class CompositionGrain(
    ClusterStore store, ModelHost host, AdapterResidency residency, SiloFiles files, JobProgressBoard board, SiloMetrics metrics,
    SiloTls tls, IOptions<SiloOptions> options, ILogger<CompositionGrain> logger) : Grain
{
    /// <summary>Runs the claimed job to completion; returns the image's SHA-256.</summary>
    /// <exception cref="OperationCanceledException">The run was stopped between steps.</exception>
    /// <exception cref="LeaseLostException">Another silo owns the job now.</exception>
    /// <param name="job">The claimed job.</param>
    /// <param name="checkpointRequest">Raised by a draining silo: checkpoint at the next step, then the caller stops the run.</param>
    /// <param name="cancellationToken">Stops the run between steps.</param>
    public async Task<string> RunAsync(ClaimedJob job, CheckpointRequest? checkpointRequest, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var request = JsonSerializer.Deserialize<JobRequest>(job.RequestJson, LoraGrainsJson.Options)
            ?? throw new ArgumentException("the job has an empty request", nameof(job));
        var generation = JobRequestResolver.ToGeneration(request);
        var resume = job.Checkpoint?.Data is { } data ? CheckpointRecorder.Deserialize(data) : null;
        var siloId = options.Value.SiloId;
        board.Report(new JobProgress(job.JobId, "running", resume?.CompletedSteps ?? 0, generation.Steps, siloId));
        logger.LogInformation("Job {Job} attempt {Attempt}: {Steps} steps{Resume}", job.JobId, job.Attempt, generation.Steps,
            resume is null ? string.Empty : $", resuming after step {resume.CompletedSteps}");

        using var denoiser = await CreateDenoiserAsync(request, generation, cancellationToken).ConfigureAwait(false);
        GenerationResult result;
        using (await host.AcquireAsync(cancellationToken).ConfigureAwait(false))
        {
            residency.EnsureAttached(generation.Adapters.Select(a => a.Id).ToList());
            var recorder = new CheckpointRecorder(store, job.JobId, job.LeaseOwner, checkpointRequest, CancellationToken.None);
            var reporter = new StepReporter(board, metrics, job.JobId, siloId, resume?.CompletedSteps ?? 0);
            result = await new StableDiffusionPipeline(host.Model, denoiser)
                .GenerateAsync(generation, reporter, recorder, resume, cancellationToken).ConfigureAwait(false);
        }

        if (denoiser is not null)
        {
            logger.LogInformation("Job {Job}: {Passes} Composite passes ran on peers", job.JobId, denoiser.RemotePasses);
        }

        var path = files.ImagePath(job.JobId);

        // The rest of a batch first: once the job completes, every image of it exists.
        for (var i = 1; i < result.Images.Count; i++)
        {
            await SiloFiles.WriteAtomicallyAsync(SiloFiles.BatchImagePath(path, i), result.Images[i], CancellationToken.None).ConfigureAwait(false);
        }

        var sha256 = await SiloFiles.WriteAtomicallyAsync(path, result.Images[0], CancellationToken.None).ConfigureAwait(false);
        await store.Jobs.CompleteAsync(job.JobId, job.LeaseOwner, path, sha256, CancellationToken.None).ConfigureAwait(false);
        return sha256;
    }

    private async Task<RemoteAdapterDenoiser?> CreateDenoiserAsync(JobRequest request, GenerationRequest generation, CancellationToken cancellationToken)
    {
        var o = options.Value;
        if (request.DistributedComposite != true || generation.Method != Diffusion.Composition.CompositionMethod.Composite
            || generation.Adapters.Count == 0 || o.ClusterSecret is not { Length: > 0 } secret)
        {
            return null;
        }

        var live = await store.Membership.ListLiveAsync(o.DeadAfter, cancellationToken).ConfigureAwait(false);
        var placement = DenoiserPlacement.Place(generation.Adapters.Select(a => a.Id), live, o.SiloId);
        logger.LogInformation("Composite across silos: {Placement}", string.Join(", ", placement.Select(p => $"{p.Key[..12]}→{p.Value?.SiloId ?? "local"}")));
        return new RemoteAdapterDenoiser(placement, secret, SiloPeers.CallTimeout, metrics, logger, tls);
    }
}
