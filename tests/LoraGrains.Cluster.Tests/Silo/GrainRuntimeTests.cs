using LoraGrains.Cluster.Runtime;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace LoraGrains.Cluster.Tests.Silo;

/// <summary>Activations: one turn at a time per (type, key), keys in parallel, idle activations collected.</summary>
public sealed class GrainRuntimeTests
{
    [Fact]
    public async Task One_turn_at_a_time_per_activation_and_parallel_across_keys()
    {
        await using var runtime = CreateRuntime();
        var probe = new ConcurrencyProbe();
        await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
            runtime.CallAsync<ProbeGrain, int>($"key-{i % 2}", g => g.TurnAsync(probe))));
        Assert.Equal(1, probe.MaxPerKey);
        Assert.Equal(2, probe.MaxOverall);
        Assert.Equal(2, runtime.ActivationCount);
    }

    [Fact]
    public async Task Idle_activations_are_deactivated_and_reactivated_fresh()
    {
        await using var runtime = CreateRuntime();
        var probe = new ConcurrencyProbe();
        var firstTurns = await runtime.CallAsync<ProbeGrain, int>("k", g => g.TurnAsync(probe));
        Assert.Equal(1, firstTurns);
        Assert.Equal(2, await runtime.CallAsync<ProbeGrain, int>("k", g => g.TurnAsync(probe)));
        await runtime.CollectIdleAsync(TimeSpan.Zero);
        Assert.Equal(0, runtime.ActivationCount);
        Assert.Equal(1, probe.Deactivations);
        Assert.Equal(1, await runtime.CallAsync<ProbeGrain, int>("k", g => g.TurnAsync(probe)));
    }

    [Fact]
    public async Task A_failed_activation_is_retried_by_the_next_call()
    {
        await using var runtime = CreateRuntime();
        FlakyGrain.Failures = 1;
        await Assert.ThrowsAsync<InvalidOperationException>(() => runtime.CallAsync<FlakyGrain, string>("f", g => g.PingAsync()));
        Assert.Equal("pong", await runtime.CallAsync<FlakyGrain, string>("f", g => g.PingAsync()));
    }

    private static GrainRuntime CreateRuntime()
    {
        var services = new ServiceCollection().BuildServiceProvider();
        return new GrainRuntime(services, Options.Create(new SiloOptions { IdleDeactivation = TimeSpan.FromHours(1) }), TimeProvider.System, NullLogger<GrainRuntime>.Instance);
    }

    private sealed class ConcurrencyProbe
    {
        private readonly Dictionary<string, int> _inFlight = [];
        private int _overall;

        public int MaxPerKey { get; private set; }

        public int MaxOverall { get; private set; }

        public int Deactivations { get; set; }

        public void Enter(string key)
        {
            lock (_inFlight)
            {
                _inFlight[key] = _inFlight.GetValueOrDefault(key) + 1;
                _overall++;
                MaxPerKey = Math.Max(MaxPerKey, _inFlight[key]);
                MaxOverall = Math.Max(MaxOverall, _overall);
            }
        }

        public void Leave(string key)
        {
            lock (_inFlight)
            {
                _inFlight[key]--;
                _overall--;
            }
        }
    }

    private sealed class FlakyGrain : Grain
    {
        public static int Failures { get; set; }

        public override Task OnActivateAsync(CancellationToken cancellationToken) =>
            Failures-- > 0 ? throw new InvalidOperationException("activation failed") : Task.CompletedTask;

        public Task<string> PingAsync() => Task.FromResult("pong");
    }

    private sealed class ProbeGrain : Grain
    {
        private int _turns;
        private ConcurrencyProbe? _probe;

        public async Task<int> TurnAsync(ConcurrencyProbe probe)
        {
            _probe = probe;
            probe.Enter(Key);
            await Task.Delay(5);
            probe.Leave(Key);
            return ++_turns;
        }

        public override Task OnDeactivateAsync(CancellationToken cancellationToken)
        {
            _probe!.Deactivations++;
            return Task.CompletedTask;
        }
    }
}
