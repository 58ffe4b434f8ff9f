using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using LoraGrains.Cluster.Runtime;
using LoraGrains.Testing;

namespace LoraGrains.Cluster.Tests.Infrastructure;

/// <summary>A real silo: <c>dotnet lora-grains.dll serve …</c> as a child process on a free loopback port.</summary>
public sealed partial class SiloProcess : IAsyncDisposable
{
    private const int SigTerm = 15;
    private static readonly HttpClient s_probe = new() { Timeout = TimeSpan.FromSeconds(2) };
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private SiloProcess(string siloId, Uri address, Process process)
    {
        SiloId = siloId;
        Address = address;
        _process = process;
    }

    /// <summary>The silo's membership id.</summary>
    public string SiloId { get; }

    /// <summary>Its HTTP address.</summary>
    public Uri Address { get; }

    /// <summary>Everything it printed so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Whether it has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Starts a silo and waits until <c>/readyz</c> answers 200.</summary>
    public static Task<SiloProcess> StartAsync(string siloId, string connectionString, string dataDirectory, params string[] extra) =>
        StartAsync(siloId, connectionString, dataDirectory, tls: null, extra);

    /// <summary>Starts a silo whose URLs (tenant and peer) are https with <paramref name="tls"/>'s server certificate.</summary>
    public static Task<SiloProcess> StartHttpsAsync(string siloId, string connectionString, string dataDirectory, TestCertificates tls, params string[] extra) =>
        StartAsync(siloId, connectionString, dataDirectory, tls, [.. tls.ServerArguments, .. extra]);

    private static async Task<SiloProcess> StartAsync(string siloId, string connectionString, string dataDirectory, TestCertificates? tls, string[] extra)
    {
        var port = LoopbackPort.Free();
        var peerPort = LoopbackPort.Free();
        var scheme = tls is null ? "http" : "https";
        var address = new Uri($"{scheme}://127.0.0.1:{port}/");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        string[] args =
        [
            Path.Combine(AppContext.BaseDirectory, "lora-grains.dll"), "serve",
            "--postgres", connectionString, "--data", dataDirectory, "--urls", $"{scheme}://127.0.0.1:{port}", "--peer-urls", $"{scheme}://127.0.0.1:{peerPort}",
            "--silo-id", siloId, "--lease", "2s", "--heartbeat", "500ms", "--poll", "50ms", "--threads", "1",
            "--cluster-secret", ClusterSecret, .. extra,
        ];
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start lora-grains");
        var silo = new SiloProcess(siloId, address, process);
        process.OutputDataReceived += (_, e) => silo.Append(e.Data);
        process.ErrorDataReceived += (_, e) => silo.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var probe = tls is null ? null : new HttpClient(tls.TrustingHandler()) { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"silo {siloId} exited with {process.ExitCode}:\n{silo.Output}");
            }

            try
            {
                using var response = await (probe ?? s_probe).GetAsync(new Uri(address, "readyz"));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return silo;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }

            await Task.Delay(100);
        }

        await silo.DisposeAsync();
        throw new TimeoutException($"silo {siloId} did not become ready:\n{silo.Output}");
    }

    /// <summary>The cluster secret every test silo shares.</summary>
    public const string ClusterSecret = "test-cluster-secret";

    /// <summary>kill -9: no draining, no goodbye.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
    }

    /// <summary>SIGTERM, then waits for the drain to finish.</summary>
    public async Task StopAsync()
    {
        if (_process.HasExited)
        {
            return;
        }

        _ = SendSignal(_process.Id, SigTerm);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(40));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
            throw new TimeoutException($"silo {SiloId} did not stop after SIGTERM:\n{Output}");
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        Kill();
        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signal);
}
