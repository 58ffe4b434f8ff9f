using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using LoraGrains.Torch;

namespace LoraGrains.Bench;

// Inside the namespace so that it wins over the LoraGrains.Torch namespace during name lookup.
using Torch = LoraGrains.Torch.Torch;

/// <summary>
/// Options every group understands: --threads N, --iterations N, --warmup N, --no-peer, --case A,B (run only those
/// cases), --env NAME=VALUE (repeatable: set in the environment of the child processes a group starts, ours and the peer's
/// alike, e.g. allocator or OpenMP settings), and --child CASE, which the engine group passes to a fresh copy of itself
/// to measure one case alone.
/// Iterations and warm-ups left unset fall back to each group's (or case's) own defaults.
/// </summary>
internal sealed record BenchOptions(
    int Threads, int? IterationsOverride, int? WarmupOverride, bool RunPeer, IReadOnlyList<string> Cases, string? Child,
    IReadOnlyDictionary<string, string> ChildEnvironment)
{
    /// <summary>Timed iterations, 10 unless given (the ops group's default).</summary>
    public int Iterations => IterationsOverride ?? 10;

    /// <summary>Warm-up iterations, 2 unless given (the ops group's default).</summary>
    public int Warmup => WarmupOverride ?? 2;

    /// <summary>Timed iterations: the option when given, else <paramref name="caseDefault"/>.</summary>
    public int IterationsOr(int caseDefault) => IterationsOverride ?? caseDefault;

    /// <summary>Warm-up iterations: the option when given, else <paramref name="caseDefault"/>.</summary>
    public int WarmupOr(int caseDefault) => WarmupOverride ?? caseDefault;

    /// <summary>True when no --case filter was given or it names <paramref name="key"/>.</summary>
    public bool Selected(string key) => Cases.Count == 0 || Cases.Contains(key, StringComparer.Ordinal);

    public static BenchOptions Parse(string[] args)
    {
        int threads = Environment.ProcessorCount;
        int? iterations = null, warmup = null;
        var peer = true;
        var cases = new List<string>();
        string? child = null;
        var environment = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--threads": threads = PositiveInt(args, ++i); break;
                case "--iterations": iterations = PositiveInt(args, ++i); break;
                case "--warmup": warmup = int.Parse(Value(args, i + 1), CultureInfo.InvariantCulture); i++; break;
                case "--no-peer": peer = false; break;
                case "--case": cases.AddRange(Value(args, ++i).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)); break;
                case "--child": child = Value(args, ++i); break;
                case "--env":
                    var pair = Value(args, ++i);
                    var eq = pair.IndexOf('=', StringComparison.Ordinal);
                    if (eq <= 0) throw new ArgumentException($"--env expects NAME=VALUE, got '{pair}'");
                    environment[pair[..eq]] = pair[(eq + 1)..];
                    break;
                default:
                    throw new ArgumentException(
                        $"unknown option '{args[i]}' (expected --threads N, --iterations N, --warmup N, --no-peer, --case A,B, --env NAME=VALUE)");
            }
        }

        return new BenchOptions(threads, iterations, warmup, peer, cases, child, environment);
    }

    private static string Value(string[] args, int i) =>
        i < args.Length ? args[i] : throw new ArgumentException($"option {args[i - 1]} needs a value");

    private static int PositiveInt(string[] args, int i)
    {
        var v = int.Parse(Value(args, i), CultureInfo.InvariantCulture);
        return v >= 1 ? v : throw new ArgumentException($"option {args[i - 1]} must be >= 1");
    }
}

/// <summary>One timed run: wall milliseconds and the process's CPU seconds (user + system, all threads).</summary>
internal readonly record struct Sample(double Ms, double CpuS)
{
    /// <summary>Runs <paramref name="body"/> once and measures it.</summary>
    public static Sample Of(Action body)
    {
        var (u0, s0) = BenchSupport.CpuSeconds();
        var ms = BenchSupport.TimeMs(body);
        var (u1, s1) = BenchSupport.CpuSeconds();
        return new Sample(ms, u1 - u0 + (s1 - s0));
    }
}

/// <summary>Timing and reporting helpers shared by the groups.</summary>
internal static class BenchSupport
{
    /// <summary>Median wall time in milliseconds of <paramref name="iterations"/> runs after <paramref name="warmup"/> untimed ones.</summary>
    public static double MedianMs(Action body, int warmup, int iterations) => Median(TimesMs(body, warmup, iterations));

    /// <summary>Wall time in milliseconds of each of <paramref name="iterations"/> runs after <paramref name="warmup"/> untimed ones.</summary>
    public static double[] TimesMs(Action body, int warmup, int iterations)
    {
        for (var i = 0; i < warmup; i++) body();
        var times = new double[iterations];
        for (var i = 0; i < iterations; i++) times[i] = TimeMs(body);
        return times;
    }

    /// <summary>
    /// Times two bodies in alternation (a, b, b, a, a, b, …: the order flips every round) so that a change in the
    /// machine's load during the run affects both alike — the shared benchmark box has other tenants. Returns each
    /// body's wall time and process CPU time per run.
    /// </summary>
    public static (Sample[] A, Sample[] B) InterleavedSamples(Action a, Action b, int warmup, int iterations)
    {
        for (var i = 0; i < warmup; i++)
        {
            a();
            b();
        }

        var sa = new Sample[iterations];
        var sb = new Sample[iterations];
        for (var i = 0; i < iterations; i++)
        {
            if (i % 2 == 0)
            {
                sa[i] = Sample.Of(a);
                sb[i] = Sample.Of(b);
            }
            else
            {
                sb[i] = Sample.Of(b);
                sa[i] = Sample.Of(a);
            }
        }

        return (sa, sb);
    }

    /// <summary>Wall time of one run of <paramref name="body"/> in milliseconds.</summary>
    public static double TimeMs(Action body)
    {
        var sw = Stopwatch.StartNew();
        body();
        return sw.Elapsed.TotalMilliseconds;
    }

    /// <summary>The median (mean of the middle two for an even count).</summary>
    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0) throw new ArgumentException("no values", nameof(values));
        var sorted = values.Order().ToArray();
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /// <summary>The nearest-rank percentile <paramref name="p"/> (0–100).</summary>
    public static double Percentile(IReadOnlyCollection<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        var rank = (int)Math.Ceiling(p / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    /// <summary>This process's user and system CPU time so far, in seconds (all threads).</summary>
    public static (double User, double System) CpuSeconds()
    {
        using var self = Process.GetCurrentProcess();
        return (self.UserProcessorTime.TotalSeconds, self.PrivilegedProcessorTime.TotalSeconds);
    }

    /// <summary>The 1-, 5- and 15-minute load averages, as /proc/loadavg shows them ("n/a" elsewhere).</summary>
    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    /// <summary>A field of /proc/self/status in MiB (VmRSS, VmHWM); null where there is no such file.</summary>
    public static double? StatusMiB(string field)
    {
        if (!File.Exists("/proc/self/status")) return null;
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        if (line is null) return null;
        var kb = long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        return kb / 1024.0;
    }

    /// <summary>
    /// Resets the peak resident set (VmHWM) to the current one (Linux ≥ 4.0, /proc/self/clear_refs), so the next
    /// peak read is that of the work done after this call alone. False where that is not possible.
    /// </summary>
    public static bool ResetPeakResidentSet()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Formats a number with <paramref name="format"/>, or "n/a" for null.</summary>
    public static string Show(double? value, string format = "F0") =>
        value?.ToString(format, CultureInfo.InvariantCulture) ?? "n/a";

    /// <summary>Milliseconds as a compact list, e.g. "[812, 790, 801]".</summary>
    public static string ShowTimes(IEnumerable<double> times) =>
        "[" + string.Join(", ", times.Select(t => t.ToString(t >= 100 ? "F0" : "F1", CultureInfo.InvariantCulture))) + "]";

    /// <summary>The command that runs this benchmark binary again with <paramref name="arguments"/>.</summary>
    public static (string Program, string Arguments) SelfCommand(string arguments)
    {
        var host = Environment.ProcessPath ?? throw new InvalidOperationException("the path of this process is unknown");
        // Started as "dotnet LoraGrains.Bench.dll" the host needs the assembly; started as the apphost it does not.
        var viaDotnet = Path.GetFileNameWithoutExtension(host) == "dotnet";
        var assembly = typeof(BenchSupport).Assembly.Location;
        return (host, viaDotnet ? $"\"{assembly}\" {arguments}" : arguments);
    }

    /// <summary>
    /// The command that runs a PyTorch peer script (next to the binary under peers/, or under bench/ from the working
    /// directory) with Debian's /usr/bin/python3, which has torch (LORAGRAINS_PYTHON overrides); null when the script is missing.
    /// </summary>
    public static (string Program, string Arguments)? PeerCommand(string script, string arguments)
    {
        var python = Environment.GetEnvironmentVariable("LORAGRAINS_PYTHON") ?? "/usr/bin/python3";
        var path = new[] { Path.Combine(AppContext.BaseDirectory, "peers", script), Path.Combine("bench", script) }.FirstOrDefault(File.Exists);
        if (path is null)
        {
            Console.Error.WriteLine($"peer script {script} not found; PyTorch column left empty");
            return null;
        }

        Console.Error.WriteLine($"running peer: {python} {path} {arguments}");
        return (python, $"\"{path}\" {arguments}");
    }

    /// <summary>Runs a PyTorch peer script (see <see cref="PeerCommand"/>) and parses the JSON object it prints last.</summary>
    public static JsonElement? RunPeer(string script, string arguments, IReadOnlyDictionary<string, string>? environment = null) =>
        PeerCommand(script, arguments) is { } command ? RunJson(command.Program, command.Arguments, environment) : null;

    // Runs a program whose last line of output is a JSON object; its standard error passes through (progress).
    private static JsonElement? RunJson(string program, string arguments, IReadOnlyDictionary<string, string>? environment)
    {
        using var p = ServedProcess.StartProcess(program, arguments, environment, redirectInput: false);
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            Console.Error.WriteLine($"{program} {arguments} exited with {p.ExitCode}");
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
            $"- .NET {Environment.Version}, {RuntimeInformation.OSDescription}",
            $"- load average (1/5/15 min) when this report was written: {LoadAverage()}");
    }
}

/// <summary>
/// A child process that measures one case on request: it builds its model (or opens its file), answers a JSON line,
/// then answers one JSON line per command line on its standard input (the engine's "run" and "done", the load peer's
/// "raw", "validated" and "done"). Two of them, or one and this process, can then be driven call by call in
/// alternation, so that both sides see the same load from the machine's other tenants.
/// </summary>
internal sealed class ServedProcess : IDisposable
{
    private readonly Process process;
    private readonly string name;

    private ServedProcess(Process process, string name)
    {
        this.process = process;
        this.name = name;
    }

    /// <summary>Starts <paramref name="command"/>; <paramref name="name"/> labels it in messages.</summary>
    public static ServedProcess Start(string name, (string Program, string Arguments) command, IReadOnlyDictionary<string, string>? environment) =>
        new(StartProcess(command.Program, command.Arguments, environment, redirectInput: true), name);

    internal static Process StartProcess(string program, string arguments, IReadOnlyDictionary<string, string>? environment, bool redirectInput)
    {
        var psi = new ProcessStartInfo(program, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardInput = redirectInput,
            UseShellExecute = false,
        };
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) psi.Environment[key] = value;
        return Process.Start(psi) ?? throw new InvalidOperationException($"could not start {program}");
    }

    /// <summary>Waits for the line the process prints once its model is built.</summary>
    public JsonElement Ready() => ReadAnswer();

    /// <summary>Sends one command and returns the answer.</summary>
    public JsonElement Send(string command)
    {
        process.StandardInput.WriteLine(command);
        process.StandardInput.Flush();
        return ReadAnswer();
    }

    private JsonElement ReadAnswer()
    {
        // Lines that are not JSON objects (stray library output) are skipped; end of output means the child failed.
        while (process.StandardOutput.ReadLine() is { } line)
        {
            if (line.StartsWith('{')) return JsonDocument.Parse(line).RootElement.Clone();
        }

        process.WaitForExit();
        throw new InvalidOperationException($"{name} ended (exit code {process.ExitCode}) without answering");
    }

    /// <summary>Ends the child if it is still running (after a failure elsewhere) and frees the handle.</summary>
    public void Dispose()
    {
        if (!process.HasExited)
        {
            process.StandardInput.Close();
            if (!process.WaitForExit(TimeSpan.FromSeconds(30))) process.Kill();
        }

        process.Dispose();
    }
}
