using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace LoraGrains.Cluster.Runtime;

/// <summary>Pushes the silo's meter to an OpenTelemetry collector over OTLP/HTTP (protobuf).</summary>
public static class MetricsExport
{
    /// <summary>Adds the exporter: service <c>lora-grains</c>, instance = silo id.</summary>
    /// <param name="services">The silo's services.</param>
    /// <param name="siloId">Reported as <c>service.instance.id</c>.</param>
    /// <param name="endpoint">The collector, e.g. <c>http://collector:4318</c> (<c>/v1/metrics</c> is added when no path is given).</param>
    /// <param name="interval">Export period.</param>
    public static void AddOtlp(IServiceCollection services, string siloId, string endpoint, TimeSpan interval)
    {
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException($"the OTLP endpoint must be an http(s) URL such as http://collector:4318, got '{endpoint}'", nameof(endpoint));
        }

        if (uri.AbsolutePath is "" or "/")
        {
            uri = new Uri(uri, "v1/metrics");
        }

        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("lora-grains", serviceInstanceId: siloId))
            .WithMetrics(metrics => metrics
                .AddMeter(SiloMetrics.MeterName)
                .AddOtlpExporter((exporter, reader) =>
                {
                    exporter.Endpoint = uri;
                    exporter.Protocol = OtlpExportProtocol.HttpProtobuf;
                    reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)Math.Clamp(interval.TotalMilliseconds, 100, int.MaxValue);
                }));
    }
}
