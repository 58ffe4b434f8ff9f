using LoraGrains.Diffusion.Composition;
using LoraGrains.Diffusion.Lora;
using LoraGrains.Diffusion.Pipeline;

namespace LoraGrains.Diffusion.Tests.Pipeline;

/// <summary>An adapter scheduled for the last part of the run leaves the early steps untouched.</summary>
public sealed class ScheduledAdapterTests(SdTinyModel tiny) : IClassFixture<SdTinyModel>
{
    [Fact]
    public void Adapter_active_only_late_changes_only_the_late_steps()
    {
        var model = tiny.Model;
        using var adapter = LoraAdapter.Load(Fixtures.Path("loras", "lora_c_kohya.safetensors"), model.Targets, model.Device, model.DType);
        model.Adapters.Attach("style", adapter);
        try
        {
            var request = new GenerationRequest { Prompt = "a castle", Steps = 4, Seed = 5, Width = 64, Height = 64, Method = CompositionMethod.Merge };
            using var none = new LatentRecorder();
            using var late = new LatentRecorder();
            var pipeline = new StableDiffusionPipeline(model);
            pipeline.Generate(request, observer: none);
            var result = pipeline.Generate(request with { Adapters = [new AdapterUse("style", 1.0, WeightSchedule.Parse("0=0;0.5=1"))] }, observer: late);

            // lora_c has no text-encoder part, so steps 0 and 1 (weight 0) equal the run without adapters.
            Assert.True(late.Steps[0].ContentEquals(none.Steps[0]));
            Assert.True(late.Steps[1].ContentEquals(none.Steps[1]));
            Assert.True(TensorAssert.RelativeL2(late.Steps[3], none.Steps[3]) > 1e-4, "the adapter had no effect in the late steps");
            Assert.Contains("lora_c_kohya: 1 @0=0;0.5=1", result.Parameters, StringComparison.Ordinal);
        }
        finally
        {
            model.Adapters.Detach("style");
        }
    }

    [Fact]
    public void Batch_of_two_draws_latents_like_diffusers_and_returns_two_images()
    {
        var request = new GenerationRequest { Prompt = "a castle", Steps = 2, Seed = 5, Width = 64, Height = 64, BatchSize = 2 };
        using var recorder = new LatentRecorder();
        var result = new StableDiffusionPipeline(tiny.Model).Generate(request, observer: recorder);
        Assert.Equal(2, result.Images.Count);
        Assert.Equal([2L, 4, 8, 8], recorder.Initial!.Shape);
        using var generator = new Torch.Generator(5);
        using var expected = Torch.Torch.Randn([2, 4, 8, 8], generator);
        Assert.True(recorder.Initial.ContentEquals(expected)); // init_noise_sigma is 1 for DPM++
        Assert.NotEqual(result.Images[0], result.Images[1]);
    }
}
