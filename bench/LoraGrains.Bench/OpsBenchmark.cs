using System.Globalization;
using System.Text;
using LoraGrains.Torch;

namespace LoraGrains.Bench;

// Inside the namespace so that it wins over the LoraGrains.Torch namespace during name lookup.
using Torch = LoraGrains.Torch.Torch;

/// <summary>
/// Per-op medians of the three ops that dominate a Stable Diffusion UNet step on the CPU, next to the same ops in
/// PyTorch (bench/ops_peer.py, same shapes, same thread count, run as a subprocess in the same invocation), so the
/// ratio shows the binding's own overhead over libtorch rather than differences between machines.
/// </summary>
internal sealed class OpsBenchmark : IBenchmarkGroup
{
    public string Name => "ops";

    public string Description => "conv 3x3 320ch 64x64, linear 4096x768x768, attention 2x8x4096x40 vs PyTorch";

    private sealed record Op(string Key, string Label, Func<Action> Setup);

    // Keys match the JSON keys printed by ops_peer.py.
    private static readonly Op[] Ops =
    [
        new("conv3x3", "conv2d 3x3 pad 1, (2,320,64,64) → 320", () =>
        {
            using var g = new Generator(0);
            var x = Torch.Randn([2, 320, 64, 64], g);
            var w = Torch.Randn([320, 320, 3, 3], g);
            var b = Torch.Randn([320], g);
            return () => Functional.Conv2d(x, w, b, padding: 1).Dispose();
        }),
        new("linear", "linear (4096×768)·(768×768)ᵀ + b", () =>
        {
            using var g = new Generator(0);
            var x = Torch.Randn([4096, 768], g);
            var w = Torch.Randn([768, 768], g);
            var b = Torch.Randn([768], g);
            return () => Functional.Linear(x, w, b).Dispose();
        }),
        new("attention", "scaled_dot_product_attention (2,8,4096,40)", () =>
        {
            using var g = new Generator(0);
            var q = Torch.Randn([2, 8, 4096, 40], g);
            var k = Torch.Randn([2, 8, 4096, 40], g);
            var v = Torch.Randn([2, 8, 4096, 40], g);
            return () => Functional.ScaledDotProductAttention(q, k, v).Dispose();
        }),
    ];

    public int Run(string[] args)
    {
        var o = BenchOptions.Parse(args);
        Torch.NumThreads = o.Threads;
        var ours = new Dictionary<string, double>();
        foreach (var op in Ops)
        {
            // The scope frees the inputs once the op's timings are taken.
            using var scope = TensorScope.Enter();
            var body = op.Setup();
            ours[op.Key] = BenchSupport.MedianMs(body, o.Warmup, o.Iterations);
            Console.Error.WriteLine($"LoraGrains {op.Key}: {ours[op.Key]:F1} ms");
        }

        var peer = o.RunPeer
            ? BenchSupport.RunPeer("ops_peer.py", string.Create(CultureInfo.InvariantCulture, $"--threads {o.Threads} --iterations {o.Iterations} --warmup {o.Warmup}"))
            : null;

        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"### ops: median of {o.Iterations} runs after {o.Warmup} warm-up, float32, CPU");
        sb.AppendLine();
        sb.AppendLine("| op | LoraGrains ms | PyTorch ms | ratio |");
        sb.AppendLine("| --- | ---: | ---: | ---: |");
        foreach (var op in Ops)
        {
            var mine = ours[op.Key];
            double? theirs = peer is { } p && p.TryGetProperty("medians_ms", out var m) && m.TryGetProperty(op.Key, out var v) ? v.GetDouble() : null;
            var ratio = theirs is > 0 ? (mine / theirs.Value).ToString("F2", CultureInfo.InvariantCulture) : "n/a";
            var theirText = theirs?.ToString("F1", CultureInfo.InvariantCulture) ?? "n/a";
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {op.Label} | {mine:F1} | {theirText} | {ratio} |");
        }

        sb.AppendLine();
        string? peerTorch = peer is { } pe && pe.TryGetProperty("torch", out var tv) ? tv.GetString() : null;
        sb.AppendLine(BenchSupport.MachineInfo(o.Threads, peerTorch));
        if (peer is { } pa && pa.TryGetProperty("attention_impl", out var impl))
            sb.AppendLine(CultureInfo.InvariantCulture, $"- PyTorch attention: {impl.GetString()}");
        Console.Write(sb.ToString());
        return 0;
    }
}
