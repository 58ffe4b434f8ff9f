using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using LoraGrains.Diffusion.Lora;
using LoraGrains.Diffusion.Models.Layers;
using LoraGrains.Diffusion.Models.UNet;
using LoraGrains.Torch;
using LoraGrains.Torch.Safetensors;

namespace LoraGrains.Bench;

// Inside the namespace so that it wins over the LoraGrains.Torch namespace during name lookup.
using Torch = LoraGrains.Torch.Torch;

/// <summary>
/// LoRA costs on the full-size SD 1.5 UNet (random weights) with random rank-32 adapters on the attention
/// projections, written as real safetensors files (kohya and PEFT naming) and loaded with
/// <see cref="LoraAdapter.Load"/> so the production path is measured: (a) changing the active set, (b) batched
/// vs sequential Composite, (c) the unmerged adapters' share of a UNet step, (d) loading a ~150 MB file,
/// the last next to a PyTorch peer (bench/lora_peer.py). Only (d) has a peer we can run: diffusers is not
/// installable on the benchmark machine, so (a) cites diffusers' published figure instead.
/// </summary>
internal sealed class LoraBenchmark : IBenchmarkGroup
{
    public string Name => "lora";

    public string Description => "adapter switch (3/57 attached), batched vs sequential Composite, unmerged overhead, 150 MB load";

    private const int Rank = 32;
    private const int Composed = 3;
    private const int ManyAdapters = 57;
    private const double LoadTargetBytes = 150e6;
    private static readonly TimeSpan SwitchWarmup = TimeSpan.FromSeconds(2);
    private const int SwitchIterations = 200;
    private const int ColdSets = 15;

    // What typical SD 1.5 LoRAs train: the four projections of both attentions of every transformer block.
    private static readonly string[] AttentionProjections =
        [".attn1.to_q", ".attn1.to_k", ".attn1.to_v", ".attn1.to_out.0", ".attn2.to_q", ".attn2.to_k", ".attn2.to_v", ".attn2.to_out.0"];

    private static readonly string[] CaseKeys = ["switch", "composite", "overhead", "load"];
    private static readonly string[] PrintOrder = ["adapters", .. CaseKeys];

    // Cases run only when named.
    private static readonly string[] ExtraCaseKeys = ["overhead-unprepared"];

    // The PyTorch version the load peer reported, for the machine lines.
    private string? peerTorch;

    public int Run(string[] args)
    {
        var o = BenchOptions.Parse(args);
        foreach (var c in o.Cases.Where(c => !CaseKeys.Contains(c) && !ExtraCaseKeys.Contains(c)))
            throw new ArgumentException($"unknown case '{c}' (cases: {string.Join(", ", CaseKeys.Concat(ExtraCaseKeys))})");
        Torch.NumThreads = o.Threads;
        var dir = Directory.CreateTempSubdirectory("loragrains-bench-");
        // Sections are measured in the order memory needs (few adapters before many) and printed in case order.
        var sections = new Dictionary<string, StringBuilder>(StringComparer.Ordinal);
        foreach (var key in PrintOrder) sections[key] = new StringBuilder();
        try
        {
            IReadOnlyList<LoraTargetModule> targets;
            Console.Error.WriteLine("lora: building the SD 1.5 UNet with random weights");
            using (var unet = UNet2DConditionModel.CreateRandom(UNetConfig.StableDiffusion15, Device.Cpu, DType.Float32, seed: 1))
            {
                targets = LoraTargetModule.FromModel(LoraComponent.Unet, unet);
                if (o.Selected("switch") || o.Selected("composite") || o.Selected("overhead") || o.Cases.Contains("overhead-unprepared"))
                    RunAdapterCases(o, unet, targets, dir.FullName, sections);
            }

            if (o.Selected("load")) RunLoadCase(o, targets, dir.FullName, sections["load"]);
        }
        finally
        {
            dir.Delete(recursive: true);
        }

        var report = new StringBuilder();
        foreach (var key in PrintOrder) report.Append(sections[key]);
        report.AppendLine(BenchSupport.MachineInfo(o.Threads, peerTorch));
        Console.Write(report.ToString());
        return 0;
    }

    // (a), (b), (c): all need the model with adapters attached.
    private static void RunAdapterCases(
        BenchOptions o, UNet2DConditionModel unet, IReadOnlyList<LoraTargetModule> targets, string dir, Dictionary<string, StringBuilder> sections)
    {
        var attention = targets.Where(t => AttentionProjections.Any(p => t.Path.EndsWith(p, StringComparison.Ordinal))).ToList();
        // Three distinct files, kohya and PEFT naming; the 57-adapter case loads them again under other names.
        var files = new string[Composed];
        for (var i = 0; i < files.Length; i++)
        {
            files[i] = Path.Combine(dir, $"attn_r{Rank}_{i}.safetensors");
            WriteAdapter(files[i], attention, Rank, kohya: i % 2 == 0, DType.Float16, seed: (ulong)(10 + i));
        }

        var fileMb = new FileInfo(files[0]).Length / 1e6;
        // Disposed in the finally below, before the adapters whose tensors its layers still reference.
        var set = new AdapterSet(new Dictionary<string, IAdaptableModel> { [LoraComponent.Unet] = unet });
        var adapters = new List<LoraAdapter>();
        try
        {
            var ids = new List<string>();
            void AttachUpTo(int count)
            {
                for (var i = adapters.Count; i < count; i++)
                {
                    var id = $"lora{i:D2}";
                    adapters.Add(LoraAdapter.Load(files[i % files.Length], targets, Device.Cpu, DType.Float32, new LoraLoadOptions { Name = id }));
                    set.Attach(id, adapters[^1]);
                    ids.Add(id);
                }
            }

            AttachUpTo(Composed);
            sections["adapters"].AppendLine(CultureInfo.InvariantCulture,
                $"Adapters: rank {Rank}, alpha {Rank / 2}, {attention.Count} modules each (to_q/to_k/to_v/to_out.0 of attn1 and attn2 in all 16 " +
                $"transformer blocks), stored float16 ({fileMb:F1} MB per file, kohya and PEFT naming), loaded as float32 with LoraAdapter.Load.");
            sections["adapters"].AppendLine();

            var switchRows = new List<string>();
            if (o.Selected("switch")) switchRows.AddRange(SwitchRows(set, ids, Composed));
            if (o.Selected("composite")) CompositeCase(o, unet, set, ids, sections["composite"]);
            if (o.Selected("overhead")) OverheadCase(o, unet, set, ids, sections["overhead"], prepare: true);
            // Only on request: the cost of running a set nobody prepared (one low-rank term per adapter per layer).
            if (o.Cases.Contains("overhead-unprepared")) OverheadCase(o, unet, set, ids, sections["overhead"], prepare: false);
            if (o.Selected("switch"))
            {
                Console.Error.WriteLine($"lora switch: loading {ManyAdapters - Composed} more adapters");
                AttachUpTo(ManyAdapters);
                switchRows.AddRange(SwitchRows(set, ids, ManyAdapters));
                var report = sections["switch"];
                report.AppendLine("### lora (a): one change of the active adapter set (AdapterSet.Activate of a new AdapterActivation, creation included)");
                report.AppendLine();
                report.AppendLine("| adapters attached | change | median µs | p90 µs | samples | target | met | load avg |");
                report.AppendLine("| ---: | --- | ---: | ---: | ---: | --- | --- | --- |");
                foreach (var row in switchRows) report.AppendLine(row);
                report.AppendLine();
                report.AppendLine("Peer figure (not run here — diffusers cannot be installed on this machine): diffusers' `set_adapters` takes about " +
                    "0.1 s with 3 adapters loaded and about 1.5 s with 57 (huggingface/diffusers issue #11816).");
                report.AppendLine();
            }
        }
        finally
        {
            set.Dispose();
            foreach (var a in adapters) a.Dispose();
        }
    }

    // (a): each row times creating the activation, activating it and freeing the previous one, as the pipeline does per step.
    private static List<string> SwitchRows(AdapterSet set, List<string> ids, int attached)
    {
        Console.Error.WriteLine($"lora switch: {attached} attached, load {BenchSupport.LoadAverage()}");
        var load = BenchSupport.LoadAverage();
        var first = ids.Take(Composed).ToList();
        var rng = new Random(attached);
        double[] Scales(int n) => Enumerable.Range(0, n).Select(_ => 0.5 + (rng.NextDouble() / 2)).ToArray();

        var rows = new List<string>();
        void Row(string change, double[] us, bool targeted = true)
        {
            var median = BenchSupport.Median(us);
            var p90 = BenchSupport.Percentile(us, 90);
            rows.Add(string.Create(CultureInfo.InvariantCulture,
                $"| {attached} | {change} | {median:F0} | {p90:F0} | {us.Length} | {(targeted ? "< 1000 µs" : "none (once per run)")} | {(targeted ? (median < 1000 ? "yes" : "no") : "n/a")} | {load} |"));
            Console.Error.WriteLine($"lora switch ({attached}): {change}: {median:F0} µs");
        }

        // The pipeline prepares a run's multi-adapter set when the run starts; the rows below time the per-step changes.
        set.Prepare(LoraComponent.Unet, first);
        // Merge with per-step weights: the same 3 adapters, new scales (one concatenated term per layer).
        Row($"same {Composed} adapters, new weights (Merge with scheduled weights)",
            Switching(set, _ => (first, Scales(Composed), null), SwitchWarmup, SwitchIterations));
        // Switch: one adapter at a time, cycling; a single adapter needs no concatenation.
        Row("one adapter, cycling through 3 (Switch)",
            Switching(set, i => ([first[i % Composed]], Scales(1), null), SwitchWarmup, SwitchIterations));
        // Batched Composite: each of 2·N rows sees one adapter.
        var rowAdapter = Enumerable.Range(0, 2 * Composed).Select(r => r % Composed).ToArray();
        Row($"segmented, {Composed} adapters × 2 rows (batched Composite)",
            Switching(set, _ => (first, Scales(Composed), rowAdapter), SwitchWarmup, SwitchIterations));

        // A set never activated before: every layer concatenates the adapters' matrices on first use.
        var fresh = new List<List<string>>();
        if (attached == Composed)
        {
            // With 3 attached every order of the three is the prepared set; the unseen sets are the pairs.
            fresh.AddRange(first.SelectMany((a, i) => first.Skip(i + 1).Select(b => new List<string> { a, b })));
        }
        else
        {
            var seen = new HashSet<string>(StringComparer.Ordinal) { string.Join('\n', first) };
            while (fresh.Count < ColdSets)
            {
                var pick = ids.OrderBy(_ => rng.Next()).Take(Composed).ToList();
                if (seen.Add(string.Join('\n', pick))) fresh.Add(pick);
            }
        }

        // Activation never copies: an unprepared set runs one low-rank term per adapter until it is prepared.
        Row($"a set of {fresh[0].Count} never active or prepared before (one term per adapter)",
            Switching(set, i => (fresh[i], Scales(fresh[i].Count), null), TimeSpan.Zero, fresh.Count));

        // What admission pays once per new set (not a per-step cost): concatenating its matrices in every layer.
        var prepare = fresh.Select(ids => BenchSupport.TimeMs(() => set.Prepare(LoraComponent.Unet, ids)) * 1000).ToArray();
        Row($"(not a change) preparing a new set of {fresh[0].Count} at admission: concatenation in every layer", prepare, targeted: false);
        return rows;
    }

    // Warm-up runs for a fixed time rather than a count: tiered JIT promotes hot methods only after ~30 calls and a
    // quiet period, and tier-0 code would otherwise be what the first rows measure.
    private static double[] Switching(AdapterSet set, Func<int, (IReadOnlyList<string> Ids, double[] Scales, int[]? Rows)> next, TimeSpan warmup, int iterations)
    {
        AdapterActivation? current = null;
        var us = new double[iterations];
        try
        {
            void Change(int i)
            {
                var (ids, scales, rows) = next(i);
                var activation = rows is null ? AdapterActivation.Uniform(ids, scales) : AdapterActivation.Segmented(ids, scales, rows);
                set.Activate(LoraComponent.Unet, activation);
                current?.Dispose();
                current = activation;
            }

            var clock = Stopwatch.StartNew();
            for (var i = 0; clock.Elapsed < warmup; i++) Change(i);
            for (var i = 0; i < iterations; i++)
            {
                var sw = Stopwatch.StartNew();
                Change(i);
                us[i] = sw.Elapsed.TotalMicroseconds;
            }
        }
        finally
        {
            set.Deactivate(LoraComponent.Unet);
            current?.Dispose();
        }

        return us;
    }

    private static void CompositeCase(BenchOptions o, UNet2DConditionModel unet, AdapterSet set, List<string> ids, StringBuilder report)
    {
        int warmup = o.WarmupOr(1), iterations = o.IterationsOr(3);
        using var scope = TensorScope.Enter();
        using var g = new Generator(2);
        var input = Torch.Randn([1, 4, 32, 32], g);
        var textStates = Torch.Randn([2, 77, 768], g); // [uncond; cond]
        var timestep = Torch.Scalar(500);
        var composed = ids.Take(Composed).ToList();
        double[] scales = [0.8, 0.7, 0.6];
        const double guidance = 7.5;

        void Batched()
        {
            using var s = TensorScope.Enter();
            // Rows ordered (branch, adapter, image): one forward of batch 2·N, row r uses adapter r mod N.
            var rowAdapter = Enumerable.Range(0, 2 * Composed).Select(r => r % Composed).ToArray();
            using var activation = AdapterActivation.Segmented(composed, scales, rowAdapter);
            set.Activate(LoraComponent.Unet, activation);
            var x = Torch.Cat(Enumerable.Repeat(input, 2 * Composed).ToList());
            var states = textStates.Chunk(2).SelectMany(st => Enumerable.Repeat(st, Composed)).ToList();
            var noise = unet.Forward(x, timestep, Torch.Cat(states));
            set.Deactivate(LoraComponent.Unet);
            var perBranch = noise.Reshape([2, Composed, .. input.Shape]).Mean([1]);
            _ = perBranch.Select(0, 0) + ((perBranch.Select(0, 1) - perBranch.Select(0, 0)) * guidance);
        }

        void Sequential()
        {
            using var s = TensorScope.Enter();
            Tensor? sum = null;
            for (var a = 0; a < Composed; a++)
            {
                using var activation = AdapterActivation.Uniform([composed[a]], [scales[a]]);
                set.Activate(LoraComponent.Unet, activation);
                var noise = unet.Forward(Torch.Cat([input, input]), timestep, textStates);
                sum = sum is null ? noise : sum + noise;
            }

            set.Deactivate(LoraComponent.Unet);
            var parts = (sum! / Composed).Chunk(2);
            _ = parts[0] + ((parts[1] - parts[0]) * guidance);
        }

        var load = BenchSupport.LoadAverage();
        Console.Error.WriteLine($"lora composite: {warmup} + {iterations} interleaved steps each, load {load}");
        var (batched, sequential) = BenchSupport.InterleavedSamples(Batched, Sequential, warmup, iterations);
        var loadAfter = BenchSupport.LoadAverage();
        var b = Summary.Of(batched);
        var q = Summary.Of(sequential);
        var ratio = b.Ms / q.Ms;
        var cpuRatio = b.Cpu / q.Cpu;
        var pairs = BenchSupport.Median(batched.Zip(sequential, (x, y) => x.Ms / y.Ms).ToArray());
        Console.Error.WriteLine($"lora composite: batched {b.Ms:F0} ms, sequential {q.Ms:F0} ms, ratio {ratio:F2}, CPU ratio {cpuRatio:F2}");
        var inv = CultureInfo.InvariantCulture;
        report.AppendLine(inv, $"### lora (b): Composite, N = {Composed} adapters, one guided step, latents (1,4,32,32) per image");
        report.AppendLine();
        report.AppendLine(inv, $"Latents are 32×32 (256×256 images) rather than 64×64 to keep the run tractable on 2 cores; {warmup} warm-up + {iterations} timed steps, " +
            $"batched and sequential alternating (order flipped every round); load average {load} → {loadAfter}.");
        report.AppendLine();
        report.AppendLine("| variant | UNet forwards per step | median ms | median CPU s (user + sys) | every step (ms) |");
        report.AppendLine("| --- | --- | ---: | ---: | --- |");
        report.AppendLine(inv, $"| batched (one forward, segmented activation) | 1 × batch {2 * Composed} | {b.Ms:F0} | {b.Cpu:F1} | {BenchSupport.ShowTimes(batched.Select(x => x.Ms))} |");
        report.AppendLine(inv, $"| sequential (uniform activation per adapter) | {Composed} × batch 2 | {q.Ms:F0} | {q.Cpu:F1} | {BenchSupport.ShowTimes(sequential.Select(x => x.Ms))} |");
        report.AppendLine(inv, $"| **ratio batched / sequential** | | **{ratio:F2}** (median of pairs {pairs:F2}) | **{cpuRatio:F2}** | target ≤ 0.80 on CPU: {(Math.Max(ratio, cpuRatio) <= 0.8 ? "met" : ratio <= 0.8 || cpuRatio <= 0.8 ? "met on one measure only" : "not met")} |");
        report.AppendLine();
    }

    /// <summary>Medians of a series of samples.</summary>
    private readonly record struct Summary(double Ms, double Cpu)
    {
        public static Summary Of(Sample[] samples) =>
            new(BenchSupport.Median(samples.Select(x => x.Ms).ToArray()), BenchSupport.Median(samples.Select(x => x.CpuS).ToArray()));
    }

    // (c): the unmerged low-rank branches' cost in a UNet step: 3 uniform adapters on every attention projection vs none.
    private static void OverheadCase(BenchOptions o, UNet2DConditionModel unet, AdapterSet set, List<string> ids, StringBuilder report, bool prepare)
    {
        // A ~5% effect needs more pairs than (b)'s ~50% one to stand out of this box's noise.
        int warmup = o.WarmupOr(1), iterations = o.IterationsOr(5);
        using var scope = TensorScope.Enter();
        using var g = new Generator(3);
        var latent = Torch.Randn([1, 4, 32, 32], g);
        var x = Torch.Cat([latent, latent]);
        var textStates = Torch.Randn([2, 77, 768], g);
        var timestep = Torch.Scalar(500);
        using var three = AdapterActivation.Uniform(ids.Take(Composed).ToList(), [0.8, 0.7, 0.6]);
        if (prepare) set.Prepare(LoraComponent.Unet, three.AdapterIds); // as the pipeline does for a Merge run
        else set.PreparedSetCapacity = 0;

        void None()
        {
            set.Deactivate(LoraComponent.Unet);
            unet.Forward(x, timestep, textStates).Dispose();
        }

        void WithAdapters()
        {
            set.Activate(LoraComponent.Unet, three);
            unet.Forward(x, timestep, textStates).Dispose();
        }

        var load = BenchSupport.LoadAverage();
        Console.Error.WriteLine($"lora overhead: {warmup} + {iterations} interleaved steps each, load {load}");
        var (none, with) = BenchSupport.InterleavedSamples(None, WithAdapters, warmup, iterations);
        set.Deactivate(LoraComponent.Unet);
        var loadAfter = BenchSupport.LoadAverage();
        var n = Summary.Of(none);
        var w = Summary.Of(with);
        var overhead = (w.Ms / n.Ms) - 1;
        var cpuOverhead = (w.Cpu / n.Cpu) - 1;
        // Per-pair ratios cancel load drift that hits both halves of a pair alike.
        var pairwise = BenchSupport.Median(with.Zip(none, (a, b) => (a.Ms / b.Ms) - 1).ToArray());
        Console.Error.WriteLine($"lora overhead: none {n.Ms:F0} ms, 3 adapters {w.Ms:F0} ms, overhead {overhead:P1} (pairwise {pairwise:P1}, CPU {cpuOverhead:P1})");
        var inv = CultureInfo.InvariantCulture;
        report.AppendLine(inv, $"### lora (c): unmerged overhead per UNet step, latents (2,4,32,32), text (2,77,768)");
        report.AppendLine();
        report.AppendLine(inv, $"{warmup} warm-up + {iterations} timed steps each, alternating (order flipped every round); load average {load} → {loadAfter}.");
        report.AppendLine();
        report.AppendLine("| active adapters | median ms | median CPU s (user + sys) | every step (ms) |");
        report.AppendLine("| --- | ---: | ---: | --- |");
        report.AppendLine(inv, $"| none | {n.Ms:F0} | {n.Cpu:F1} | {BenchSupport.ShowTimes(none.Select(x => x.Ms))} |");
        var variant = prepare ? $"prepared: one concatenated rank-{Composed * Rank} term per layer" : $"unprepared: {Composed} rank-{Rank} terms per layer";
        report.AppendLine(inv, $"| {Composed} uniform, unmerged ({variant}) | {w.Ms:F0} | {w.Cpu:F1} | {BenchSupport.ShowTimes(with.Select(x => x.Ms))} |");
        report.AppendLine(inv, $"| **overhead** | **{overhead:P1}** (median of pairs {pairwise:P1}) | **{cpuOverhead:P1}** | target ≤ 10%: {(Math.Max(overhead, cpuOverhead) <= 0.10 ? "met" : "not met")} |");
        report.AppendLine();
    }

    // (d): a ~150 MB adapter file from the memory map to float32 CPU tensors, ours next to a minimal PyTorch reader.
    private void RunLoadCase(BenchOptions o, IReadOnlyList<LoraTargetModule> targets, string dir, StringBuilder report)
    {
        int warmup = o.WarmupOr(1), iterations = o.IterationsOr(9);
        // Every Linear and 1×1 conv of the 16 transformers (attention, feed-forward, proj_in/proj_out), float16 on
        // disk as most published LoRAs are; the rank is chosen to make the file about 150 MB.
        var modules = targets.Where(t => t.Path.Contains(".attentions.", StringComparison.Ordinal)).ToList();
        var bytesPerRank = 2.0 * modules.Sum(t => (t.InFeatures * t.KernelSize * t.KernelSize) + t.OutFeatures);
        var rank = (int)Math.Round(LoadTargetBytes / bytesPerRank / 8) * 8;
        var path = Path.Combine(dir, $"transformers_r{rank}.safetensors");
        Console.Error.WriteLine($"lora load: writing a rank-{rank} adapter over {modules.Count} modules");
        WriteAdapter(path, modules, rank, kohya: true, DType.Float16, seed: 99);
        var bytes = new FileInfo(path).Length;

        void Full() => LoraAdapter.Load(path, targets, Device.Cpu, DType.Float32).Dispose();
        void Raw()
        {
            using var file = SafetensorsFile.Open(path);
            foreach (var entry in file.Entries.Values) file.Load(entry, Device.Cpu, DType.Float32).Dispose();
        }

        void Hash()
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
            SHA256.HashData(stream);
        }

        var load = BenchSupport.LoadAverage();
        var peerCommand = o.RunPeer
            ? BenchSupport.PeerCommand("lora_peer.py", string.Create(CultureInfo.InvariantCulture, $"--file \"{path}\" --threads {o.Threads} --serve"))
            : null;
        using var peer = peerCommand is { } pc ? ServedProcess.Start("PyTorch peer", pc, null) : null;
        if (peer?.Ready() is { } ready && ready.TryGetProperty("torch", out var tv)) peerTorch = tv.GetString();

        // Ours and the peer's loads alternate, so that both see the same load from the machine's other tenants.
        List<double> full = [], raw = [], hash = [], peerFull = [], peerRaw = [];
        for (var i = 0; i < warmup + iterations; i++)
        {
            var timed = i >= warmup;
            var f = BenchSupport.TimeMs(Full);
            var pf = peer?.Send("validated").GetProperty("ms").GetDouble();
            var r = BenchSupport.TimeMs(Raw);
            var pr = peer?.Send("raw").GetProperty("ms").GetDouble();
            var h = BenchSupport.TimeMs(Hash);
            if (!timed) continue;
            full.Add(f);
            raw.Add(r);
            hash.Add(h);
            if (pf is { } x) peerFull.Add(x);
            if (pr is { } y) peerRaw.Add(y);
        }

        peer?.Send("done");
        var loadAfter = BenchSupport.LoadAverage();
        double? PeerMedian(List<double> times) => times.Count > 0 ? BenchSupport.Median(times) : null;

        var inv = CultureInfo.InvariantCulture;
        var mb = bytes / 1e6;
        string Rate(double? ms) => ms is > 0 ? (mb / (ms.Value / 1000)).ToString("F0", inv) : "n/a";
        string Ratio(double a, double? b) => b is > 0 ? (a / b.Value).ToString("F2", inv) : "n/a";
        report.AppendLine(inv, $"### lora (d): load a {mb:F1} MB adapter file (memory-mapped safetensors → float32 CPU tensors)");
        report.AppendLine();
        report.AppendLine(inv, $"File: kohya naming, rank {rank}, {modules.Count} modules (every Linear and 1×1 proj of the 16 transformers), float16 on disk, " +
            $"converted to float32 on load; warm page cache; {warmup} warm-up + {iterations} timed loads of each kind, ours and the peer's alternating; " +
            $"load average {load} → {loadAfter}.");
        report.AppendLine();
        report.AppendLine("| what | median ms | MB/s | every load (ms) |");
        report.AppendLine("| --- | ---: | ---: | --- |");
        double mFull = BenchSupport.Median(full), mRaw = BenchSupport.Median(raw), mHash = BenchSupport.Median(hash);
        double? pFull = PeerMedian(peerFull), pRaw = PeerMedian(peerRaw);
        report.AppendLine(inv, $"| LoraGrains `LoraAdapter.Load` (header checks, key resolution, load + convert, NaN/inf check per tensor, SHA-256 of the file) | {mFull:F0} | {Rate(mFull)} | {BenchSupport.ShowTimes(full)} |");
        report.AppendLine(inv, $"| PyTorch peer, same work (minimal reader + `isfinite().all()` per tensor + hashlib SHA-256) | {BenchSupport.Show(pFull)} | {Rate(pFull)} | {BenchSupport.ShowTimes(peerFull)} |");
        report.AppendLine(inv, $"| LoraGrains raw: `SafetensorsFile.Open` + `Load` of every tensor | {mRaw:F0} | {Rate(mRaw)} | {BenchSupport.ShowTimes(raw)} |");
        report.AppendLine(inv, $"| PyTorch peer raw: json header + `torch.frombuffer` + `.to(float32)` | {BenchSupport.Show(pRaw)} | {Rate(pRaw)} | {BenchSupport.ShowTimes(peerRaw)} |");
        report.AppendLine(inv, $"| (inside the first row) SHA-256 of the file, .NET | {mHash:F0} | {Rate(mHash)} | {BenchSupport.ShowTimes(hash)} |");
        report.AppendLine(inv, $"| **ratio LoraGrains / PyTorch** | full: **{Ratio(mFull, pFull)}**, raw: **{Ratio(mRaw, pRaw)}** | | |");
        report.AppendLine();
    }

    /// <summary>
    /// Writes a random LoRA over <paramref name="modules"/>: down ~ N(0, 1/fan_in), up ~ N(0, 0.01²) (a trained
    /// adapter's up is not zero), alpha = rank/2 in kohya files; PEFT files have no alpha (alpha = rank).
    /// </summary>
    private static void WriteAdapter(string path, IReadOnlyList<LoraTargetModule> modules, int rank, bool kohya, DType storage, ulong seed)
    {
        using var scope = TensorScope.Enter();
        using var g = new Generator(seed);
        var tensors = new List<KeyValuePair<string, Tensor>>();
        foreach (var m in modules)
        {
            var fanIn = m.InFeatures * m.KernelSize * m.KernelSize;
            var down = (Torch.Randn(m.DownShape(rank), g) * (1.0 / Math.Sqrt(fanIn))).To(storage);
            var up = (Torch.Randn(m.UpShape(rank), g) * 0.01).To(storage);
            if (kohya)
            {
                var name = "lora_unet_" + m.Path.Replace('.', '_');
                tensors.Add(new(name + ".lora_down.weight", down));
                tensors.Add(new(name + ".lora_up.weight", up));
                tensors.Add(new(name + ".alpha", Torch.Scalar(rank / 2, storage)));
            }
            else
            {
                var name = "unet." + m.Path;
                tensors.Add(new(name + ".lora_A.weight", down));
                tensors.Add(new(name + ".lora_B.weight", up));
            }
        }

        SafetensorsWriter.Write(path, tensors, new Dictionary<string, string> { ["ss_network_dim"] = rank.ToString(CultureInfo.InvariantCulture) });
    }
}
