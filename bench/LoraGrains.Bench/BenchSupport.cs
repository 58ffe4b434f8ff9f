using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using LoraGrains.Torch;

namespace LoraGrains.Bench;

// Inside the namespace so that it wins over the LoraGrains.Torch namespace during name lookup.
using Torch = LoraGrains.Torch.Torch;

/// <summary>Options every group understands: --threads N, --iterations N, --warmup N, --no-peer.</summary>
internal sealed record BenchOptions(int Threads, int Iterations, int Warmup, bool RunPeer)
{
    public static BenchOptions Parse(string[] args)
    {
        int threads = Environment.ProcessorCount, iterations = 10, warmup = 2;
        var peer = true;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--threads": threads = PositiveInt(args, ++i); break;
                case "--iterations": iterations = PositiveInt(args, ++i); break;
                case "--warmup": warmup = int.Parse(Value(args, i + 1), CultureInfo.InvariantCulture); i++; break;
                case "--no-peer": peer = false; break;
                default: throw new ArgumentException($"unknown option '{args[i]}' (expected --threads N, --iterations N, --warmup N, --no-peer)");
            }
        }

        return new BenchOptions(threads, iterations, warmup, peer);
    }

    private static string Value(string[] args, int i) =>
        i < args.Length ? args[i] : throw new ArgumentException($"option {args[i - 1]} needs a value");

    private static int PositiveInt(string[] args, int i)
    {
        var v = int.Parse(Value(args, i), CultureInfo.InvariantCulture);
        return v >= 1 ? v : throw new ArgumentException($"option {args[i - 1]} must be >= 1");
    }
}

/// <summary>Timing and reporting helpers shared by the groups.</summary>
internal static class BenchSupport
{
    /// <summary>Median wall time in milliseconds of <paramref name="iterations"/> runs after <paramref name="warmup"/> untimed ones.</summary>
    public static double MedianMs(Action body, int warmup, int iterations)
    {
        for (var i = 0; i < warmup; i++) body();
        var times = new double[iterations];
        for (var i = 0; i < iterations; i++)
        {
            var sw = Stopwatch.StartNew();
            body();
            times[i] = sw.Elapsed.TotalMilliseconds;
        }

        Array.Sort(times);
        var mid = times.Length / 2;
        return times.Length % 2 == 1 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
    }

    /// <summary>
    /// Runs a PyTorch peer script (next to the binary under peers/, or under bench/ from the working directory) with
    /// Debian's /usr/bin/python3, which has torch (LORAGRAINS_PYTHON overrides), and parses the JSON object it prints last.
    /// </summary>
    public static JsonElement? RunPeer(string script, string arguments)
    {
        var python = Environment.GetEnvironmentVariable("LORAGRAINS_PYTHON") ?? "/usr/bin/python3";
        var path = new[] { Path.Combine(AppContext.BaseDirectory, "peers", script), Path.Combine("bench", script) }.FirstOrDefault(File.Exists);
        if (path is null)
        {
            Console.Error.WriteLine($"peer script {script} not found; PyTorch column left empty");
            return null;
        }

        var psi = new ProcessStartInfo(python, $"\"{path}\" {arguments}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        Console.Error.WriteLine($"running peer: {python} {path} {arguments}");
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {python}");
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            Console.Error.WriteLine($"peer exited with {p.ExitCode}: {stderr.Result}");
            return null;
        }

        var last = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        return last is null ? null : JsonDocument.Parse(last).RootElement.Clone();
    }

    /// <summary>CPU model, logical CPUs, libtorch and .NET versions, as lines of a markdown list.</summary>
    public static string MachineInfo(int threads, string? peerTorch)
    {
        var cpu = "unknown";
        if (File.Exists("/proc/cpuinfo"))
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            if (line is not null) cpu = line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
        }

        return string.Join(
            '\n',
            $"- CPU: {cpu} ({Environment.ProcessorCount} logical CPUs visible)",
            $"- threads: {threads} (Torch.NumThreads = torch.set_num_threads)",
            $"- libtorch (LoraGrains): {Torch.LibtorchVersion}; PyTorch (peer): {peerTorch ?? "n/a"}",
            $"- .NET {Environment.Version}, {RuntimeInformation.OSDescription}");
    }
}
