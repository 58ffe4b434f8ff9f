using System.Globalization;
using System.Text;
using System.Text.Json;
using LoraGrains.Diffusion.Models.UNet;
using LoraGrains.Diffusion.Models.Vae;
using LoraGrains.Torch;

namespace LoraGrains.Bench;

// Inside the namespace so that it wins over the LoraGrains.Torch namespace during name lookup.
using Torch = LoraGrains.Torch.Torch;

/// <summary>
/// The Stable Diffusion 1.5 engine at full size with random weights: one UNet step at two latent sizes and one
/// VAE decode, float32 on the CPU, next to the same computation in PyTorch eager (bench/engine_peer.py, a compact
/// diffusers-equivalent implementation, since diffusers itself cannot be installed on the benchmark machine).
/// Every case runs in two fresh processes, ours and the peer's, so that each peak resident set is its own; the two
/// run call by call in alternation so that both see the same load from the machine's other tenants.
/// </summary>
internal sealed class EngineBenchmark : IBenchmarkGroup
{
    public string Name => "engine";

    public string Description => "SD 1.5 UNet step (2,4,32,32) and (2,4,64,64), VAE decode (1,4,64,64), random weights, vs PyTorch";

    /// <summary>One measured computation; defaults keep a full run near 10 minutes on a 2-core box.</summary>
    private sealed record Case(string Key, string Label, int Warmup, int Iterations);

    // Keys match engine_peer.py's --case values.
    private static readonly Case[] Cases =
    [
        new("unet32", "UNet step, latents (2,4,32,32), text (2,77,768)", 1, 5),
        new("unet64", "UNet step, latents (2,4,64,64), text (2,77,768)", 1, 3),
        new("vae", "VAE decode (1,4,64,64) → (1,3,512,512)", 1, 3),
    ];

    /// <summary>The full-size SD 1.5 VAE (runwayml/stable-diffusion-v1-5 vae/config.json).</summary>
    internal static VaeConfig StableDiffusion15Vae { get; } = new()
    {
        BlockOutChannels = [128, 256, 512, 512],
        DownBlockTypes = [VaeConfig.DownEncoderBlock, VaeConfig.DownEncoderBlock, VaeConfig.DownEncoderBlock, VaeConfig.DownEncoderBlock],
        UpBlockTypes = [VaeConfig.UpDecoderBlock, VaeConfig.UpDecoderBlock, VaeConfig.UpDecoderBlock, VaeConfig.UpDecoderBlock],
        LayersPerBlock = 2,
        LatentChannels = 4,
        NormNumGroups = 32,
    };

    public int Run(string[] args)
    {
        var o = BenchOptions.Parse(args);
        if (o.Child is { } child) return Serve(Cases.FirstOrDefault(c => c.Key == child) ?? throw new ArgumentException($"unknown case '{child}'"), o);

        var selected = Cases.Where(c => o.Selected(c.Key)).ToList();
        if (selected.Count == 0) throw new ArgumentException($"--case names none of {string.Join(", ", Cases.Select(c => c.Key))}");
        // --env settings (allocator, OpenMP) go to both children alike, so the comparison stays like for like.
        var results = selected.Select(c => Measure(c, o, o.ChildEnvironment)).ToList();
        Console.Write(Report(o, results));
        return 0;
    }

    /// <summary>What one side measured for a case: per-call wall ms and CPU seconds, and its final answer (memory).</summary>
    private sealed record Side(double[] Ms, double[] User, double[] Sys, JsonElement Final)
    {
        public double MedianMs => BenchSupport.Median(Ms);

        public double MedianCpu => BenchSupport.Median(User.Zip(Sys, (u, s) => u + s).ToArray());
    }

    private sealed record Result(Case Case, Side Ours, Side? Peer, string Load);

    // Both processes build their model, then run call by call in alternation (the order flipping every iteration),
    // so a burst of load from other tenants hits both rather than one side's whole series.
    private static Result Measure(Case c, BenchOptions o, IReadOnlyDictionary<string, string>? environment)
    {
        var loadStart = BenchSupport.LoadAverage();
        Console.Error.WriteLine($"engine {c.Key}: building both models, load {loadStart}");
        using var ours = ServedProcess.Start("LoraGrains", BenchSupport.SelfCommand($"engine --child {c.Key} --threads {o.Threads}"), environment);
        var peerCommand = o.RunPeer ? BenchSupport.PeerCommand("engine_peer.py", $"--case {c.Key} --threads {o.Threads} --serve") : null;
        using var peer = peerCommand is { } pc ? ServedProcess.Start("PyTorch peer", pc, environment) : null;
        ours.Ready();
        peer?.Ready();

        int warmup = o.WarmupOr(c.Warmup), iterations = o.IterationsOr(c.Iterations);
        for (var i = 0; i < warmup; i++)
        {
            ours.Send("run");
            peer?.Send("run");
        }

        var mine = new List<JsonElement>();
        var theirs = new List<JsonElement>();
        for (var i = 0; i < iterations; i++)
        {
            if (i % 2 == 0 || peer is null)
            {
                mine.Add(ours.Send("run"));
                if (peer is not null) theirs.Add(peer.Send("run"));
            }
            else
            {
                theirs.Add(peer.Send("run"));
                mine.Add(ours.Send("run"));
            }

            Console.Error.WriteLine($"engine {c.Key}: iteration {i + 1}: LoraGrains {Ms(mine[^1])} ms, PyTorch {(peer is null ? "-" : Ms(theirs[^1]))} ms, load {BenchSupport.LoadAverage()}");
        }

        var ourSide = ToSide(mine, ours.Send("done"));
        var peerSide = peer is null ? null : ToSide(theirs, peer.Send("done"));
        return new Result(c, ourSide, peerSide, $"{loadStart} → {BenchSupport.LoadAverage()}");
    }

    private static string Ms(JsonElement call) => BenchSupport.Show(call.GetProperty("ms").GetDouble());

    private static Side ToSide(List<JsonElement> calls, JsonElement final) => new(
        calls.Select(e => e.GetProperty("ms").GetDouble()).ToArray(),
        calls.Select(e => e.GetProperty("cpu_user_s").GetDouble()).ToArray(),
        calls.Select(e => e.GetProperty("cpu_sys_s").GetDouble()).ToArray(),
        final);

    private static double? Number(JsonElement e, string key) =>
        e.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    private static string Report(BenchOptions o, List<Result> results)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        var environment = o.ChildEnvironment.Count == 0
            ? "default environment"
            : "both processes with " + string.Join(" ", o.ChildEnvironment.Select(kv => $"{kv.Key}={kv.Value}"));
        sb.AppendLine(inv, $"### engine: full-size SD 1.5, random weights, float32, CPU, {o.Threads} threads; {environment}");
        sb.AppendLine();
        sb.AppendLine("| op | warm-up + timed | LoraGrains ms | PyTorch ms | ratio (medians) | ratio (median of pairs) | CPU s per call, LoraGrains (user + sys) | same, PyTorch | CPU ratio | RSS MiB after build / peak in run, LoraGrains | same, PyTorch | load avg (start → end) |");
        sb.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
        foreach (var r in results)
        {
            var p = r.Peer;
            string Ratio(double? a, double? b) => a is { } x && b is > 0 ? (x / b.Value).ToString("F2", inv) : "n/a";
            var pairs = p is null ? "n/a" : BenchSupport.Median(r.Ours.Ms.Zip(p.Ms, (a, b) => a / b).ToArray()).ToString("F2", inv);
            sb.AppendLine(inv,
                $"| {r.Case.Label} | {o.WarmupOr(r.Case.Warmup)} + {o.IterationsOr(r.Case.Iterations)} | {r.Ours.MedianMs:F0} | {BenchSupport.Show(p?.MedianMs)} | " +
                $"**{Ratio(r.Ours.MedianMs, p?.MedianMs)}** | {pairs} | {Cpu(r.Ours)} | {(p is null ? "n/a" : Cpu(p))} | {Ratio(r.Ours.MedianCpu, p?.MedianCpu)} | " +
                $"{Memory(r.Ours.Final)} | {(p is null ? "n/a" : Memory(p.Final))} | {r.Load} |");
        }

        sb.AppendLine();
        sb.AppendLine("Every timed call (ms), in the order run:");
        sb.AppendLine();
        foreach (var r in results)
            sb.AppendLine(inv, $"- {r.Case.Key}: LoraGrains {BenchSupport.ShowTimes(r.Ours.Ms)}, PyTorch {(r.Peer is null ? "n/a" : BenchSupport.ShowTimes(r.Peer.Ms))}");
        sb.AppendLine();
        sb.AppendLine("Both processes hold their model at once and run call by call in alternation (order flipped every call). " +
            "RSS: VmRSS once the model is built, then VmHWM over the warm-up and timed calls after resetting it " +
            "(/proc/self/clear_refs): weights + activations + whatever the allocator keeps. CPU s per call: median user + system " +
            "CPU time of the process (both threads); it moves less than wall time when other tenants take the cores.");
        sb.AppendLine();
        var peerTorch = results.Select(r => r.Peer?.Final).OfType<JsonElement>()
            .Select(f => f.TryGetProperty("torch", out var t) ? t.GetString() : null).FirstOrDefault(t => t is not null);
        sb.AppendLine(BenchSupport.MachineInfo(o.Threads, peerTorch));
        return sb.ToString();
    }

    private static string Memory(JsonElement final) =>
        $"{BenchSupport.Show(Number(final, "build_rss_mb"))} / {BenchSupport.Show(Number(final, "run_peak_rss_mb"))}";

    private static string Cpu(Side side) =>
        string.Create(CultureInfo.InvariantCulture, $"{BenchSupport.Median(side.User):F1} + {BenchSupport.Median(side.Sys):F1}");

    /// <summary>
    /// The child side: builds one case's model in this fresh process, answers {"ready"}, then one JSON line per
    /// "run" (wall ms, CPU seconds) and, on "done", the memory figures (the same protocol as engine_peer.py --serve).
    /// </summary>
    private static int Serve(Case c, BenchOptions o)
    {
        Torch.NumThreads = o.Threads;
        using var scope = TensorScope.Enter();
        using var generator = new Generator(0);
        IDisposable model;
        Action body;
        if (c.Key == "vae")
        {
            var vae = AutoencoderKL.CreateRandom(StableDiffusion15Vae, Device.Cpu, DType.Float32, seed: 1);
            var z = Torch.Randn([1, 4, 64, 64], generator);
            model = vae;
            body = () => vae.Decode(z).Dispose();
        }
        else
        {
            var side = c.Key == "unet32" ? 32 : 64;
            var unet = UNet2DConditionModel.CreateRandom(UNetConfig.StableDiffusion15, Device.Cpu, DType.Float32, seed: 1);
            var sample = Torch.Randn([2, 4, side, side], generator);
            var states = Torch.Randn([2, 77, 768], generator);
            var timestep = Torch.Scalar(500);
            model = unet;
            body = () => unet.Forward(sample, timestep, states).Dispose();
        }

        using (model)
        {
            var buildRss = BenchSupport.StatusMiB("VmRSS");
            var buildPeak = BenchSupport.StatusMiB("VmHWM");
            var reset = BenchSupport.ResetPeakResidentSet();
            Answer(new Dictionary<string, object?> { ["ready"] = true, ["build_rss_mb"] = buildRss });
            while (Console.In.ReadLine() is { } command)
            {
                if (command == "run")
                {
                    var before = BenchSupport.CpuSeconds();
                    var ms = BenchSupport.TimeMs(body);
                    var after = BenchSupport.CpuSeconds();
                    Answer(new Dictionary<string, object?>
                    {
                        ["ms"] = ms, ["cpu_user_s"] = after.User - before.User, ["cpu_sys_s"] = after.System - before.System,
                    });
                }
                else if (command == "done")
                {
                    var runPeak = BenchSupport.StatusMiB("VmHWM");
                    Answer(new Dictionary<string, object?>
                    {
                        ["case"] = c.Key,
                        ["threads"] = Torch.NumThreads,
                        ["build_rss_mb"] = buildRss,
                        ["run_peak_rss_mb"] = reset ? runPeak : null,
                        ["peak_rss_mb"] = Math.Max(buildPeak ?? 0, runPeak ?? 0),
                    });
                    break;
                }
            }
        }

        return 0;
    }

    private static void Answer(Dictionary<string, object?> fields)
    {
        Console.WriteLine(JsonSerializer.Serialize(fields));
        Console.Out.Flush();
    }
}
