using System.Net;
using System.Text;
using LoraGrains.Client;
using LoraGrains.Cluster.Runtime;
using LoraGrains.Cluster.Tests.Infrastructure;

namespace LoraGrains.Cluster.Tests.Silo;

/// <summary>With --otlp the silo pushes its metrics to an OpenTelemetry collector (here a fake one on loopback).</summary>
[Collection(PostgresCollection.Name)]
public sealed class MetricsExportTests(PostgresServer server)
{
    [Fact]
    public async Task Silo_pushes_its_metrics_over_otlp_http()
    {
        var port = LoopbackPort.Free();

        using var collector = new HttpListener();
        collector.Prefixes.Add($"http://127.0.0.1:{port}/");
        collector.Start();
        await using var cluster = await SiloCluster.CreateAsync(server);
        var key = await cluster.CreateTenantAsync("tenant-m");
        var silo = await cluster.StartSiloAsync("otel-1", "--otlp", $"http://127.0.0.1:{port}", "--metrics-interval", "300ms");
        await (await cluster.Client(silo, key).SubmitAsync(new JobRequest { Prompt = "x", Steps = 1, Width = 64, Height = 64 })).WaitAsync();

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        var seen = new StringBuilder();
        while (DateTime.UtcNow < deadline)
        {
            var contextTask = collector.GetContextAsync();
            if (await Task.WhenAny(contextTask, Task.Delay(deadline - DateTime.UtcNow)) != contextTask)
            {
                break;
            }

            var context = await contextTask;
            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            Assert.Equal("/v1/metrics", context.Request.Url!.AbsolutePath);
            Assert.Equal("application/x-protobuf", context.Request.ContentType);
            seen.Append(Encoding.Latin1.GetString(body.ToArray()));
            context.Response.StatusCode = 200;
            context.Response.Close();
            if (seen.ToString().Contains("loragrains.jobs.claimed", StringComparison.Ordinal))
            {
                break;
            }
        }

        var text = seen.ToString();
        Assert.Contains("loragrains.jobs.claimed", text, StringComparison.Ordinal);
        Assert.Contains("otel-1", text, StringComparison.Ordinal);
    }
}
