using System.Diagnostics;
using LoraGrains.Cluster.Grains;
using LoraGrains.Cluster.Queue;
using LoraGrains.Cluster.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LoraGrains.Cluster.Runtime;

/// <summary>
/// The silo's claim loop: claims a job (preferring ones whose adapters are resident) or, while idle, is handed one that
/// this silo's API leased to it as it was submitted (see <see cref="JobSignal"/>); runs it on its
/// <see cref="CompositionGrain"/> while renewing the lease every third of its length, and records the outcome.
/// A cancel request seen at renewal stops the run between steps; stopping the host (SIGTERM) stops claiming,
/// stops the run between steps and releases the job, whose last checkpoint the next silo resumes from.
/// </summary>
public sealed class JobWorker(
    ClusterStore store, GrainRuntime grains, AdapterResidency residency, JobProgressBoard board, SiloMetrics metrics, JobSignal signal,
    IOptions<SiloOptions> options, TimeProvider clock, IHostApplicationLifetime lifetime, ILogger<JobWorker> logger) : BackgroundService
{
    /// <summary>How long a draining silo waits for its running job to reach a step boundary and checkpoint.</summary>
    public static readonly TimeSpan DrainGrace = TimeSpan.FromSeconds(10);

    private readonly SiloOptions _options = options.Value;

    /// <summary>The job running now, if any.</summary>
    public Guid? CurrentJob { get; private set; }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Drain from the moment the application begins to stop, not when the host reaches this service: the web
        // server stops first and may wait for open requests (progress streams) meanwhile.
        using var draining = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, lifetime.ApplicationStopping);
        stoppingToken = draining.Token;
        if (!_options.RunJobs)
        {
            return;
        }

        await Task.Yield();
        ClaimedJob? handedOver = null;
        // A job handed over by a submission is already leased to this silo: it is run (and, when draining, released) even
        // if the silo began to stop meanwhile.
        while (handedOver is not null || !stoppingToken.IsCancellationRequested)
        {
            var job = handedOver;
            handedOver = null;
            if (job is null)
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    job = await store.Jobs.ClaimAsync(_options.SiloId, residency.ResidentHashes, _options.LeaseDuration, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception e)
                {
                    logger.LogWarning(e, "Claim failed on silo {Silo}", _options.SiloId);
                    await DelayAsync(_options.PollInterval, stoppingToken).ConfigureAwait(false);
                    continue;
                }

                metrics.ClaimQuery.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (job is null)
                {
                    handedOver = await signal.WaitAsync(_options.PollInterval, stoppingToken).ConfigureAwait(false);
                    continue;
                }

                metrics.JobsClaimed.Add(1, new KeyValuePair<string, object?>("via", "queue"));
            }
            else
            {
                metrics.JobsClaimed.Add(1, new KeyValuePair<string, object?>("via", "submit"));
            }

            metrics.ClaimLatency.Record((clock.GetUtcNow() - job.CreatedAt).TotalMilliseconds);
            await RunAsync(job, stoppingToken).ConfigureAwait(false);
        }

        logger.LogInformation("Silo {Silo} stopped claiming jobs", _options.SiloId);
    }

    private async Task RunAsync(ClaimedJob job, CancellationToken stoppingToken)
    {
        CurrentJob = job.JobId;
        var started = Stopwatch.GetTimestamp();
        var reason = (int)JobStopReason.None;
        using var run = new CancellationTokenSource();
        void Stop(JobStopReason why)
        {
            Interlocked.CompareExchange(ref reason, (int)why, (int)JobStopReason.None);
            run.Cancel();
        }

        // Draining: ask for a checkpoint at the next step and stop once it is saved (or after a grace period, if the run
        // is not in its denoising loop), so the next silo resumes where this one stopped.
        var checkpoint = new CheckpointRequest();
        using var draining = stoppingToken.Register(() =>
        {
            Interlocked.CompareExchange(ref reason, (int)JobStopReason.Draining, (int)JobStopReason.None);
            checkpoint.Request(() => Stop(JobStopReason.Draining));
            try
            {
                run.CancelAfter(DrainGrace);
            }
            catch (ObjectDisposedException)
            {
            }
        });
        using var renewing = new CancellationTokenSource();
        var renewal = RenewAsync(job, Stop, renewing.Token);
        var outcome = "succeeded";
        try
        {
            var sha = await grains.CallAsync<CompositionGrain, string>(job.JobId.ToString(), g => g.RunAsync(job, checkpoint, run.Token), CancellationToken.None).ConfigureAwait(false);
            logger.LogInformation("Job {Job} succeeded on {Silo} (image {Sha})", job.JobId, _options.SiloId, sha[..12]);
        }
        catch (OperationCanceledException) when (run.IsCancellationRequested)
        {
            var why = (JobStopReason)Volatile.Read(ref reason);
            outcome = why.ToString().ToLowerInvariant();
            await SettleAsync(job, why).ConfigureAwait(false);
        }
        catch (LeaseLostException)
        {
            outcome = "leaselost";
            logger.LogWarning("Job {Job}: silo {Silo} lost its lease; another silo owns it", job.JobId, _options.SiloId);
        }
        catch (Exception e)
        {
            outcome = "failed";
            logger.LogWarning(e, "Job {Job} failed on {Silo}", job.JobId, _options.SiloId);
            await SettleAsync(job, JobStopReason.None, e.Message).ConfigureAwait(false);
        }
        finally
        {
            await renewing.CancelAsync().ConfigureAwait(false);
            await renewal.ConfigureAwait(false);
            board.Remove(job.JobId);
            CurrentJob = null;
            metrics.JobsFinished.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
            metrics.JobDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
    }

    private async Task SettleAsync(ClaimedJob job, JobStopReason why, string? error = null)
    {
        try
        {
            switch (why)
            {
                case JobStopReason.Cancelled:
                    await store.Jobs.CancelAsync(job.JobId, job.LeaseOwner, cancellationToken: CancellationToken.None).ConfigureAwait(false);
                    logger.LogInformation("Job {Job} cancelled by its tenant", job.JobId);
                    break;
                case JobStopReason.Draining:
                    await store.Jobs.ReleaseAsync(job.JobId, job.LeaseOwner, CancellationToken.None).ConfigureAwait(false);
                    logger.LogInformation("Job {Job} released by draining silo {Silo}", job.JobId, _options.SiloId);
                    break;
                case JobStopReason.LeaseLost:
                    break;
                default:
                    await store.Jobs.FailAsync(job.JobId, job.LeaseOwner, error ?? "failed", CancellationToken.None).ConfigureAwait(false);
                    break;
            }
        }
        catch (LeaseLostException)
        {
            logger.LogWarning("Job {Job}: lease lost before its outcome was recorded", job.JobId);
        }
    }

    private async Task RenewAsync(ClaimedJob job, Action<JobStopReason> stop, CancellationToken cancellationToken)
    {
        // Every third of the lease, and at least every 2 s: renewals also carry the tenant's cancel requests.
        var period = TimeSpan.FromTicks(Math.Clamp(_options.LeaseDuration.Ticks / 3, TimeSpan.FromMilliseconds(100).Ticks, TimeSpan.FromSeconds(2).Ticks));
        using var timer = new PeriodicTimer(period, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    var renewal = await store.Jobs.RenewLeaseAsync(job.JobId, job.LeaseOwner, _options.LeaseDuration, cancellationToken).ConfigureAwait(false);
                    if (renewal.CancellationRequested)
                    {
                        stop(JobStopReason.Cancelled);
                    }
                }
                catch (LeaseLostException)
                {
                    stop(JobStopReason.LeaseLost);
                    return;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogWarning(e, "Renewing the lease of job {Job} failed; retrying", job.JobId);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private static async Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
