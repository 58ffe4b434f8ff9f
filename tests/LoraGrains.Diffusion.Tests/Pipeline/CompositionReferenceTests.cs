using System.Text.Json;
using LoraGrains.Diffusion.Composition;
using LoraGrains.Diffusion.Lora;
using LoraGrains.Diffusion.Pipeline;
using LoraGrains.Torch;
using LoraGrains.Torch.Safetensors;

namespace LoraGrains.Diffusion.Tests.Pipeline;

/// <summary>Merge, Switch and Composite against the reference implementation's runs (refs/composition.*).</summary>
public sealed class CompositionReferenceTests : IClassFixture<SdTinyModel>, IDisposable
{
    private static readonly string[] Names = ["lora_a_kohya", "lora_b_locon_kohya"];
    private readonly SdTinyModel tiny;
    private readonly List<LoraAdapter> adapters = [];
    private readonly JsonElement reference;

    public CompositionReferenceTests(SdTinyModel tiny)
    {
        this.tiny = tiny;
        foreach (var name in Names)
        {
            var adapter = LoraAdapter.Load(Fixtures.Path("loras", name + ".safetensors"), tiny.Model.Targets, tiny.Model.Device, tiny.Model.DType);
            adapters.Add(adapter);
            tiny.Model.Adapters.Attach(name, adapter);
        }

        using var json = JsonDocument.Parse(File.ReadAllText(Fixtures.Path("refs", "composition.json")));
        reference = json.RootElement.Clone();
    }

    public void Dispose()
    {
        foreach (var name in Names) tiny.Model.Adapters.Detach(name);
        foreach (var a in adapters) a.Dispose();
    }

    private GenerationRequest Request(CompositionMethod method, bool withAdapters = true) => new()
    {
        Prompt = reference.GetProperty("prompt").GetString()!,
        NegativePrompt = reference.GetProperty("negative_prompt").GetString()!,
        Steps = reference.GetProperty("steps").GetInt32(),
        GuidanceScale = reference.GetProperty("guidance_scale").GetDouble(),
        Seed = reference.GetProperty("seed").GetUInt64(),
        Width = reference.GetProperty("width").GetInt32(),
        Height = reference.GetProperty("height").GetInt32(),
        Scheduler = "dpmpp-2m",
        LoraScale = reference.GetProperty("lora_scale").GetDouble(),
        SwitchEvery = reference.GetProperty("switch_step").GetInt32(),
        Method = method,
        Adapters = withAdapters ? [.. Names.Select(n => new AdapterUse(n))] : [],
    };

    private LatentRecorder Run(GenerationRequest request, string run)
    {
        var recorder = new LatentRecorder();
        var result = new StableDiffusionPipeline(tiny.Model).Generate(request, observer: recorder);
        Assert.True(result.NegativePromptTruncated, "the reference negative prompt is longer than 77 tokens");
        using var refs = SafetensorsFile.Open(Fixtures.Path("refs", "composition.safetensors"));
        using var scope = TensorScope.Enter();
        Assert.True(recorder.Initial!.ContentEquals(refs.Load($"comp.{run}.init_latents")), "initial latents");
        for (var i = 0; i < recorder.Steps.Count; i++)
        {
            TensorAssert.Close(recorder.Steps[i], refs.Load($"comp.{run}.step{i:00}.latents_after"), 1e-4, $"{run}: latents after step {i}");
        }

        TensorAssert.Close(recorder.Steps[^1], refs.Load($"comp.{run}.final_latents"), 1e-4, $"{run}: final latents");
        return recorder;
    }

    private void AssertActiveRecord(string run, LatentRecorder recorder)
    {
        var calls = reference.GetProperty("runs").GetProperty(run).GetProperty("unet_calls").EnumerateArray()
            .GroupBy(c => c.GetProperty("step").GetInt32())
            .Select(g => g.SelectMany(c => c.GetProperty("active_adapters").EnumerateArray().Select(a => a.GetString()!)).Distinct().ToList())
            .ToList();
        Assert.Equal(calls.Count, recorder.Active.Count);
        for (var i = 0; i < calls.Count; i++) Assert.Equal(calls[i], recorder.Active[i]);
    }

    [Fact]
    public void No_adapters_matches_the_baseline_run()
    {
        using var r = Run(Request(CompositionMethod.Merge, withAdapters: false), "none");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Merge_matches_the_reference(bool fuse)
    {
        using var r = Run(Request(CompositionMethod.Merge) with { FuseFixedAdapters = fuse }, "merge");
        AssertActiveRecord("merge", r);
    }

    [Fact]
    public void Switch_matches_the_reference_schedule_and_latents()
    {
        using var r = Run(Request(CompositionMethod.Switch), "switch");
        AssertActiveRecord("switch", r);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Composite_matches_the_reference(bool batched)
    {
        using var r = Run(Request(CompositionMethod.Composite) with { BatchedComposite = batched }, "composite");
        AssertActiveRecord("composite", r);
    }

    [Fact]
    public void Batched_composite_equals_sequential()
    {
        using var batched = new LatentRecorder();
        using var sequential = new LatentRecorder();
        var request = Request(CompositionMethod.Composite) with { Steps = 3 };
        new StableDiffusionPipeline(tiny.Model).Generate(request with { BatchedComposite = true }, observer: batched);
        new StableDiffusionPipeline(tiny.Model).Generate(request with { BatchedComposite = false }, observer: sequential);
        for (var i = 0; i < 3; i++) TensorAssert.Close(batched.Steps[i], sequential.Steps[i], 1e-4, $"step {i}");
    }

    [Fact]
    public void Fusion_reports_weights_that_sum_to_one_and_changes_the_image()
    {
        var request = Request(CompositionMethod.Fusion) with
        {
            Steps = 2,
            Adapters = [new AdapterUse(Names[0], FusionKey: "kamado nezuko, pink eyes"), new AdapterUse(Names[1], FusionKey: "a red sports car")],
        };
        using var fused = new LatentRecorder();
        var result = new StableDiffusionPipeline(tiny.Model).Generate(request, observer: fused);
        Assert.NotNull(result.FusionWeights);
        Assert.Equal(1.0, result.FusionWeights!.Sum(), 6);
        Assert.Contains("Fusion weights", result.Parameters, StringComparison.Ordinal);

        using var none = new LatentRecorder();
        new StableDiffusionPipeline(tiny.Model).Generate(request with { Adapters = [] }, observer: none);
        Assert.True(TensorAssert.RelativeL2(fused.Steps[^1], none.Steps[^1]) > 1e-3, "fusion had no effect");
    }

    [Fact]
    public void Fuse_then_unfuse_restores_the_base_weights_exactly()
    {
        var layers = tiny.Model.UNet.AdaptableLayers.Values.Where(l => l.Adapters.AttachedIds.Count > 0).ToList();
        Assert.NotEmpty(layers);
        var before = layers.Select(l => Weight(l).Clone()).ToList();
        using var activation = AdapterActivation.Uniform(Names, [0.8, 0.8]);
        tiny.Model.Adapters.Activate(LoraComponent.Unet, activation);
        tiny.Model.Adapters.Fuse(LoraComponent.Unet);
        Assert.Contains(layers, l => !Weight(l).ContentEquals(before[layers.IndexOf(l)]));
        tiny.Model.Adapters.Unfuse(LoraComponent.Unet);
        tiny.Model.Adapters.Deactivate(LoraComponent.Unet);
        for (var i = 0; i < layers.Count; i++) Assert.True(Weight(layers[i]).ContentEquals(before[i]), layers[i].Name);
        foreach (var t in before) t.Dispose();
    }

    private static Tensor Weight(Diffusion.Models.Layers.IAdaptableLayer layer) => layer switch
    {
        Diffusion.Models.Layers.Linear l => l.Weight,
        Diffusion.Models.Layers.Conv2d c => c.Weight,
        _ => throw new InvalidOperationException(),
    };
}
