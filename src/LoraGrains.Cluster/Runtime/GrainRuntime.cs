using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LoraGrains.Cluster.Runtime;

/// <summary>
/// The silo's activation directory: grains keyed by (type, key), created on first call through DI, one turn at a
/// time per activation, collected after <see cref="SiloOptions.IdleDeactivation"/> without calls.
/// </summary>
public sealed class GrainRuntime : IAsyncDisposable
{
    private readonly ConcurrentDictionary<(Type Type, string Key), GrainActivation> _activations = new();
    private readonly IServiceProvider _services;
    private readonly TimeProvider _clock;
    private readonly TimeSpan _idle;
    private readonly ILogger<GrainRuntime> _logger;
    private readonly ITimer _collector;

    /// <summary>Creates the runtime.</summary>
    public GrainRuntime(IServiceProvider services, IOptions<SiloOptions> options, TimeProvider clock, ILogger<GrainRuntime> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _services = services;
        _clock = clock;
        _idle = options.Value.IdleDeactivation;
        _logger = logger;
        var period = TimeSpan.FromTicks(Math.Clamp(_idle.Ticks / 4, TimeSpan.FromMilliseconds(100).Ticks, TimeSpan.FromMinutes(1).Ticks));
        _collector = clock.CreateTimer(_ => _ = CollectIdleAsync(), null, period, period);
    }

    /// <summary>Live activations.</summary>
    public int ActivationCount => _activations.Count;

    /// <summary>Calls <paramref name="turn"/> on the activation of <typeparamref name="TGrain"/> with <paramref name="key"/>, activating it if needed.</summary>
    public async Task<TResult> CallAsync<TGrain, TResult>(string key, Func<TGrain, Task<TResult>> turn, CancellationToken cancellationToken = default)
        where TGrain : Grain
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(turn);
        while (true)
        {
            var activation = _activations.GetOrAdd((typeof(TGrain), key), k =>
            {
                var grain = ActivatorUtilities.CreateInstance<TGrain>(_services);
                grain.Key = k.Key;
                return new GrainActivation(grain, _clock);
            });
            try
            {
                return await activation.RunTurnAsync(() => turn((TGrain)activation.Grain), cancellationToken).ConfigureAwait(false);
            }
            catch (ObjectDisposedException) when (activation.Deactivated)
            {
                // Collected between lookup and turn: activate afresh.
            }
        }
    }

    /// <summary>Calls a grain method that returns nothing.</summary>
    public Task CallAsync<TGrain>(string key, Func<TGrain, Task> turn, CancellationToken cancellationToken = default)
        where TGrain : Grain =>
        CallAsync<TGrain, bool>(key, async g =>
        {
            await turn(g).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    /// <summary>Deactivates activations idle for longer than the configured time.</summary>
    public async Task CollectIdleAsync(TimeSpan? idleFor = null)
    {
        var cutoff = _clock.GetUtcNow() - (idleFor ?? _idle);
        foreach (var (id, activation) in _activations)
        {
            if (activation.LastTurn > cutoff || activation.IsBusy)
            {
                continue;
            }

            try
            {
                if (await activation.TryDeactivateAsync(CancellationToken.None).ConfigureAwait(false))
                {
                    _activations.TryRemove(new KeyValuePair<(Type, string), GrainActivation>(id, activation));
                }
            }
            catch (Exception e)
            {
                _logger.LogWarning(e, "Deactivating {Grain}/{Key} failed", id.Type.Name, id.Key);
                _activations.TryRemove(new KeyValuePair<(Type, string), GrainActivation>(id, activation));
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _collector.DisposeAsync().ConfigureAwait(false);
        await CollectIdleAsync(TimeSpan.Zero).ConfigureAwait(false);
    }
}
