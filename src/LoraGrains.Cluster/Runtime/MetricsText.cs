using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace LoraGrains.Cluster.Runtime;

/// <summary>
/// Listens to the silo's meter and renders the totals as Prometheus-style text (counters as sums; histograms as
/// count, sum and max; gauges as their value when rendered) for <c>GET /metrics</c>.
/// </summary>
public sealed class MetricsText : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, Aggregate> _series = new(StringComparer.Ordinal);

    /// <summary>Starts listening to <paramref name="metrics"/>' meter (only this silo's, when several run in one process).</summary>
    public MetricsText(SiloMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, metrics.Meter))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _listener.Start();
    }

    /// <summary>The current totals.</summary>
    public string Render()
    {
        // Observable gauges report only when asked: read them now so the text shows current values.
        _listener.RecordObservableInstruments();
        var text = new StringBuilder();
        foreach (var (name, aggregate) in _series.OrderBy(s => s.Key, StringComparer.Ordinal))
        {
            lock (aggregate)
            {
                if (aggregate.Histogram)
                {
                    var (baseName, labels) = Split(name);
                    text.Append(CultureInfo.InvariantCulture, $"{baseName}_count{labels} {aggregate.Count}\n");
                    text.Append(CultureInfo.InvariantCulture, $"{baseName}_sum{labels} {aggregate.Sum:0.###}\n");
                    text.Append(CultureInfo.InvariantCulture, $"{baseName}_max{labels} {aggregate.Max:0.###}\n");
                }
                else
                {
                    text.Append(CultureInfo.InvariantCulture, $"{name} {aggregate.Sum:0.###}\n");
                }
            }
        }

        return text.ToString();
    }

    /// <inheritdoc />
    public void Dispose() => _listener.Dispose();

    private static (string Name, string Labels) Split(string series)
    {
        var brace = series.IndexOf('{', StringComparison.Ordinal);
        return brace < 0 ? (series, string.Empty) : (series[..brace], series[brace..]);
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var name = new StringBuilder(instrument.Name.Replace('.', '_'));
        if (instrument.Unit is { Length: > 0 } unit)
        {
            name.Append('_').Append(unit);
        }

        if (tags.Length > 0)
        {
            name.Append('{');
            for (var i = 0; i < tags.Length; i++)
            {
                name.Append(i > 0 ? "," : string.Empty).Append(tags[i].Key).Append("=\"").Append(tags[i].Value).Append('"');
            }

            name.Append('}');
        }

        var aggregate = _series.GetOrAdd(name.ToString(), _ => new Aggregate(instrument is Histogram<double>));
        lock (aggregate)
        {
            if (instrument is ObservableGauge<long> or ObservableGauge<double>)
            {
                aggregate.Sum = value;
                return;
            }

            aggregate.Count++;
            aggregate.Sum += value;
            aggregate.Max = Math.Max(aggregate.Max, value);
        }
    }

    private sealed class Aggregate(bool histogram)
    {
        public bool Histogram { get; } = histogram;

        public long Count { get; set; }

        public double Sum { get; set; }

        public double Max { get; set; }
    }
}
