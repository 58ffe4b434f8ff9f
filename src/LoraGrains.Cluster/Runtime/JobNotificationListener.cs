using LoraGrains.Cluster.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace LoraGrains.Cluster.Runtime;

/// <summary>
/// On PostgreSQL, hears the queue's <c>NOTIFY</c> (a job was submitted through any silo, re-queued after its lease
/// expired, or released by a draining silo) on a connection of its own and wakes this silo's <see cref="JobSignal"/>,
/// so an idle worker claims within milliseconds rather than at its next poll. A dropped connection is reopened with
/// backoff; the worker's polling covers the gap, and every (re)connect wakes the worker once for what it may have missed.
/// Does nothing on SQLite (one process: submissions wake the worker in-process) or on a silo that runs no jobs.
/// </summary>
public sealed class JobNotificationListener(
    ClusterStore store, JobSignal signal, IOptions<SiloOptions> options, ILogger<JobNotificationListener> logger) : BackgroundService
{
    /// <summary>First wait before reopening a dropped connection; doubles per failure up to <see cref="MaxBackoff"/>.</summary>
    public static readonly TimeSpan MinBackoff = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest wait between reconnection attempts.</summary>
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    private int _connects;

    /// <summary>Times the listening connection was (re)opened; 1 after a clean start.</summary>
    public int Connects => Volatile.Read(ref _connects);

    /// <summary>The <c>application_name</c> of a silo's listening connection, as <c>pg_stat_activity</c> shows it.</summary>
    /// <param name="siloId">The silo.</param>
    public static string ApplicationName(string siloId) => $"loragrains-listen:{siloId}";

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (store.Database is not PostgresClusterDatabase database || !options.Value.RunJobs)
        {
            return;
        }

        var siloId = options.Value.SiloId;
        var backoff = MinBackoff;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await database.OpenListenerAsync(ApplicationName(siloId), stoppingToken).ConfigureAwait(false);
                connection.Notification += (_, _) => signal.Notify();
                if (Interlocked.Increment(ref _connects) > 1)
                {
                    logger.LogInformation("Silo {Silo} listens for jobs again", siloId);
                }

                backoff = MinBackoff;
                // Whatever was announced while no connection listened is found by this claim.
                signal.Notify();
                while (true)
                {
                    await connection.WaitAsync(stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or IOException or TimeoutException)
            {
                logger.LogWarning("Silo {Silo} lost its job-notification connection ({Error}); polling until it is back, reconnecting in {Backoff} ms",
                    siloId, e.Message, (int)backoff.TotalMilliseconds);
            }

            try
            {
                await Task.Delay(backoff, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
        }
    }
}
