using System.Diagnostics.Metrics;

namespace LoraGrains.Cluster.Runtime;

/// <summary>The silo's instruments (System.Diagnostics.Metrics, meter <c>LoraGrains.Silo</c>).</summary>
public sealed class SiloMetrics : IDisposable
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "LoraGrains.Silo";

    private readonly Meter _meter;

    /// <summary>Creates the instruments.</summary>
    public SiloMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _meter = meterFactory.Create(MeterName);
        JobsSubmitted = _meter.CreateCounter<long>("loragrains.jobs.submitted", description: "Jobs accepted by this silo's API");
        JobsClaimed = _meter.CreateCounter<long>("loragrains.jobs.claimed", description: "Jobs claimed by this silo, by how (from the queue, or taken as submitted here)");
        JobsFinished = _meter.CreateCounter<long>("loragrains.jobs.finished", description: "Jobs this silo ran to an end, by outcome");
        Steps = _meter.CreateCounter<long>("loragrains.steps", description: "Denoising steps run");
        RemotePasses = _meter.CreateCounter<long>("loragrains.denoiser.passes", description: "UNet passes evaluated for peers' Composite");
        RemotePassesSent = _meter.CreateCounter<long>("loragrains.denoiser.sent", description: "Composite passes sent to peers, by outcome");
        RemotePassOverhead = _meter.CreateHistogram<double>("loragrains.denoiser.overhead", "ms", "Round trip of a pass sent to a peer minus the peer's own time for it");
        ClaimLatency = _meter.CreateHistogram<double>("loragrains.claim.latency", "ms", "Submit to claim, per claimed job");
        ClaimQuery = _meter.CreateHistogram<double>("loragrains.claim.query", "ms", "Duration of one claim transaction");
        JobDuration = _meter.CreateHistogram<double>("loragrains.job.duration", "ms", "Claim to final state, per run on this silo");
        AdapterPromotions = _meter.CreateCounter<long>("loragrains.adapters.promoted", description: "Adapters attached to the model, by the tier they came from");
        AdapterEvictions = _meter.CreateCounter<long>("loragrains.adapters.evicted", description: "Adapters moved down a tier, by the tier they left and the one they went to");
    }

    /// <summary>Adapters attached to the model (tag <c>from</c>: host or disk).</summary>
    public Counter<long> AdapterPromotions { get; }

    /// <summary>Adapters moved down (tags <c>from</c>: device or host; <c>to</c>: host or disk).</summary>
    public Counter<long> AdapterEvictions { get; }

    /// <summary>
    /// Publishes the memory tiers as gauges <c>loragrains.adapters.resident.bytes</c> and
    /// <c>loragrains.adapters.resident.count</c> (tag <c>tier</c>: device or host), read from <paramref name="tiers"/> when observed.
    /// </summary>
    public void ObserveAdapterTiers(Func<IReadOnlyList<AdapterTierUsage>> tiers)
    {
        ArgumentNullException.ThrowIfNull(tiers);
        _meter.CreateObservableGauge("loragrains.adapters.resident.bytes",
            () => tiers().Select(t => new Measurement<long>(t.Bytes, new KeyValuePair<string, object?>("tier", TierTag(t.Tier)))),
            description: "Bytes of adapter weights held, by tier");
        _meter.CreateObservableGauge("loragrains.adapters.resident.count",
            () => tiers().Select(t => new Measurement<long>(t.Count, new KeyValuePair<string, object?>("tier", TierTag(t.Tier)))),
            description: "Adapters held, by tier");
    }

    /// <summary>The tag value of a tier (lower case).</summary>
    public static string TierTag(AdapterTier tier) => tier switch
    {
        AdapterTier.Device => "device",
        AdapterTier.Host => "host",
        _ => "disk",
    };

    /// <summary>The meter the instruments belong to.</summary>
    public Meter Meter => _meter;

    /// <summary>Jobs accepted.</summary>
    public Counter<long> JobsSubmitted { get; }

    /// <summary>Jobs claimed (tag <c>via</c>: <c>queue</c>, claimed by the worker; <c>submit</c>, leased to the idle worker as it was submitted here).</summary>
    public Counter<long> JobsClaimed { get; }

    /// <summary>Jobs ended here (tag <c>outcome</c>).</summary>
    public Counter<long> JobsFinished { get; }

    /// <summary>Denoising steps.</summary>
    public Counter<long> Steps { get; }

    /// <summary>Passes evaluated for peers.</summary>
    public Counter<long> RemotePasses { get; }

    /// <summary>Passes sent to peers (tag <c>outcome</c>: ok or local).</summary>
    public Counter<long> RemotePassesSent { get; }

    /// <summary>Cost of evaluating a pass on a peer rather than here: serialisation, transport, parsing.</summary>
    public Histogram<double> RemotePassOverhead { get; }

    /// <summary>Submit→claim latency.</summary>
    public Histogram<double> ClaimLatency { get; }

    /// <summary>Claim transaction time.</summary>
    public Histogram<double> ClaimQuery { get; }

    /// <summary>Run time per job.</summary>
    public Histogram<double> JobDuration { get; }

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();
}
