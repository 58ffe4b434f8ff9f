using LoraGrains.Diffusion.Lora;
using LoraGrains.Torch;
using LoraGrains.Torch.Safetensors;
using Xunit.Abstractions;

namespace LoraGrains.Diffusion.Tests.Lora;

/// <summary>W + 0.8·ΔW against diffusers/PEFT's merged weights in refs/lora_single.safetensors.</summary>
public sealed class LoraMergedWeightTests(ITestOutputHelper output)
{
    private const double Lambda = 0.8;
    private const double Tolerance = 1e-5;

    public static TheoryData<string> MergedReferences() => new(MergedKeys());

    private static List<string> MergedKeys()
    {
        using var refs = SafetensorsFile.Open(Fixtures.Path("refs", "lora_single.safetensors"));
        return refs.Entries.Keys.Where(k => k.Contains(".merged.", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
    }

    [Fact]
    public void Every_file_with_merged_references_is_covered()
    {
        var keys = MergedKeys();
        Assert.Equal(21, keys.Count);
        Assert.Equal(["lora_a_kohya", "lora_b_locon_kohya", "lora_c_kohya", "lora_d_diffusers"], keys.Select(k => Parse(k).File).Distinct().Order());
    }

    [Theory]
    [MemberData(nameof(MergedReferences))]
    public void Base_plus_scaled_delta_equals_the_reference(string key)
    {
        var (fileName, component, path) = Parse(key);
        using var adapter = SdTinyLora.Load(SdTinyLora.File(fileName));
        var module = adapter.Modules.Single(m => m.Component == component && m.Path == path);

        using var refs = SafetensorsFile.Open(Fixtures.Path("refs", "lora_single.safetensors"));
        using var weights = SafetensorsFile.Open(SdTinyLora.WeightsPath(component));
        using var scope = TensorScope.Enter();
        var expected = refs.Load(key);
        var baseWeight = weights.Load(path + ".weight");
        var delta = module.DeltaWeight();
        Assert.Equal(module.Target.WeightShape, delta.Shape);
        var merged = baseWeight + delta * Lambda;

        var err = TensorAssert.RelativeL2(merged, expected);
        var deltaRel = TensorAssert.RelativeL2(baseWeight, expected);
        output.WriteLine($"{key}: rel L2 {err:E3}, max |Δ| {TensorAssert.MaxAbsDiff(merged, expected):E3} (base alone: rel L2 {deltaRel:E3}; {module})");
        Assert.True(deltaRel > 1e-2, "the LoRA changes the weight visibly, so the comparison means something");
        Assert.True(err <= Tolerance, $"{key}: relative L2 error {err:E3} exceeds {Tolerance:E1}");
    }

    [Fact]
    public void Half_precision_delta_is_computed_in_float32_and_rounded_once()
    {
        using var full = SdTinyLora.Load(SdTinyLora.File("lora_b_locon_kohya"));
        using var half = LoraAdapter.Load(SdTinyLora.File("lora_b_locon_kohya"), SdTinyLora.Targets, Device.Cpu, DType.BFloat16);
        using var scope = TensorScope.Enter();
        foreach (var (f, h) in full.Modules.Zip(half.Modules).Where(p => p.First.Target.KernelSize == 3).Take(3))
        {
            var dh = h.DeltaWeight();
            Assert.Equal(DType.BFloat16, dh.DType);
            var err = TensorAssert.RelativeL2(dh, f.DeltaWeight());
            Assert.True(err < 1e-2, $"{f.Path}: {err:E3}");
        }
    }

    /// <summary><c>lora.&lt;file&gt;.merged.&lt;component&gt;.&lt;module&gt;.weight</c> → (file, component, module).</summary>
    private static (string File, string Component, string Path) Parse(string key)
    {
        const string merged = ".merged.";
        var at = key.IndexOf(merged, StringComparison.Ordinal);
        var file = key["lora.".Length..at];
        var rest = key[(at + merged.Length)..^".weight".Length];
        var component = rest.StartsWith(LoraComponent.TextEncoder + ".", StringComparison.Ordinal) ? LoraComponent.TextEncoder : LoraComponent.Unet;
        return (file, component, rest[(component.Length + 1)..]);
    }
}
