using LoraGrains.Cluster.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LoraGrains.Cluster.Runtime;

/// <summary>
/// Registers the silo in the membership table, heartbeats (with its resident adapters) on a timer, marks it
/// draining when the host begins to stop (before any hosted service stops) and removes it after the job worker has
/// stopped.
/// </summary>
public sealed class SiloMembership(
    ClusterStore store, AdapterResidency residency, IOptions<SiloOptions> options, ILogger<SiloMembership> logger)
    : BackgroundService, IHostedLifecycleService
{
    private readonly SiloOptions _options = options.Value;

    /// <summary>Registered and not yet left.</summary>
    public bool IsRegistered { get; private set; }

    /// <inheritdoc />
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await store.Membership.RegisterAsync(_options.SiloId, _options.EffectiveAddress, cancellationToken).ConfigureAwait(false);
        IsRegistered = true;
        logger.LogInformation("Silo {Silo} joined the cluster at {Address}", _options.SiloId, _options.EffectiveAddress);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Marks the silo draining, so that peers stop placing work on it while it finishes.</summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        if (!IsRegistered) return;
        try
        {
            await store.Membership.BeginDrainAsync(_options.SiloId, cancellationToken).ConfigureAwait(false);
            logger.LogInformation("Silo {Silo} is draining", _options.SiloId);
        }
        catch (Exception e)
        {
            // Not fatal: the silo still leaves the table once its job worker has stopped.
            logger.LogWarning(e, "Could not mark silo {Silo} as draining", _options.SiloId);
        }
    }

    /// <inheritdoc />
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        if (IsRegistered)
        {
            await store.Membership.LeaveAsync(_options.SiloId, cancellationToken).ConfigureAwait(false);
            IsRegistered = false;
            logger.LogInformation("Silo {Silo} left the cluster", _options.SiloId);
        }
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.HeartbeatInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await store.Membership.HeartbeatAsync(_options.SiloId, [.. residency.ResidentHashes.Take(Membership.MembershipTable.MaxResidentAdapters)], stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogWarning(e, "Heartbeat of silo {Silo} failed", _options.SiloId);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
