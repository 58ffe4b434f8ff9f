using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace LoraGrains.Cli.Tests;

/// <summary><c>tenant create</c>, <c>serve</c> (SQLite) and <c>submit</c> as real processes, end to end.</summary>
public sealed class ClusterCommandTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lg-cli-cluster-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void Serve_refuses_tls_files_it_cannot_use_and_names_them()
    {
        var missing = Path.Combine(dir, "tls.crt");
        var refused = CliProcess.Run("serve", "--data", Path.Combine(dir, "data"), "--urls", "https://127.0.0.1:0", "--tls-cert", missing, "--tls-key", Path.Combine(dir, "tls.key"));
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains($"error: TLS certificate '{missing}' does not exist", refused.Stderr, StringComparison.Ordinal);
        var half = CliProcess.Run("serve", "--data", Path.Combine(dir, "data"), "--tls-cert", missing);
        Assert.Equal(1, half.ExitCode);
        Assert.Contains("--tls-cert and --tls-key", half.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tenant_create_serve_and_submit_generate_an_image_through_the_http_api()
    {
        var data = Path.Combine(dir, "data");
        var (code, key, stderr) = CliProcess.Run("tenant", "create", "--name", "CLI Test", "--weight", "2", "--data", data);
        Assert.True(code == 0, stderr);
        key = key.Trim();
        Assert.StartsWith("lg_", key, StringComparison.Ordinal);
        Assert.Contains("tenant cli-test (weight 2) created", stderr, StringComparison.Ordinal);
        var again = CliProcess.Run("tenant", "create", "--name", "CLI Test", "--data", data);
        Assert.Equal(2, again.ExitCode);
        Assert.Contains("already exists", again.Stderr, StringComparison.Ordinal);

        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        var url = $"http://127.0.0.1:{port}";
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "lora-grains.dll"), "serve", "--data", data, "--urls", url, "--threads", "1", "--poll", "50ms" })
        {
            start.ArgumentList.Add(a);
        }

        using var silo = Process.Start(start)!;
        silo.OutputDataReceived += (_, _) => { };
        silo.ErrorDataReceived += (_, _) => { };
        silo.BeginOutputReadLine();
        silo.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (true)
            {
                try
                {
                    if ((await http.GetAsync($"{url}/readyz")).IsSuccessStatusCode) break;
                }
                catch (HttpRequestException)
                {
                }

                Assert.True(DateTime.UtcNow < deadline && !silo.HasExited, "the silo did not become ready");
                await Task.Delay(100);
            }

            var output = Path.Combine(dir, "cluster.png");
            var submit = CliProcess.Run("submit", "--url", url, "--key", key, "--prompt", "a lighthouse", "--steps", "3", "--width", "64", "--height", "64",
                "--lora", CliProcess.FixtureLora("lora_a_kohya") + ":0.8", "--session", "cli", "--out", output);
            Assert.True(submit.ExitCode == 0, submit.Stderr);
            Assert.Equal(output, submit.Stdout.Trim());
            Assert.Contains("succeeded step    3/3", submit.Stderr, StringComparison.Ordinal);
            Assert.Equal([137, 80, 78, 71], File.ReadAllBytes(output)[..4]);

            var refused = CliProcess.Run("submit", "--url", url, "--key", key, "--prompt", "x", "--steps", "0", "--out", Path.Combine(dir, "bad.png"));
            Assert.Equal(1, refused.ExitCode);
            Assert.Contains("steps must be between 1 and 1000", refused.Stderr, StringComparison.Ordinal);
            var wrongKey = CliProcess.Run("submit", "--url", url, "--key", "lg_nope", "--prompt", "x", "--out", Path.Combine(dir, "bad.png"));
            Assert.Equal(1, wrongKey.ExitCode);
            Assert.Contains("401", wrongKey.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            silo.Kill(entireProcessTree: true);
            await silo.WaitForExitAsync();
        }
    }
}
