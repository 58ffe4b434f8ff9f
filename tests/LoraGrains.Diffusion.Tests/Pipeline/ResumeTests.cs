using System.Text.Json;
using LoraGrains.Diffusion.Composition;
using LoraGrains.Diffusion.Pipeline;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Tests.Pipeline;

/// <summary>A run checkpointed mid-way and resumed (after a JSON round trip) gives the uninterrupted run's result.</summary>
public sealed class ResumeTests(SdTinyModel tiny) : IClassFixture<SdTinyModel>
{
    private sealed class CheckpointCatcher : IDenoiseObserver
    {
        public List<string> Json { get; } = [];

        public void OnInitialLatents(Tensor latents)
        {
        }

        public void OnStep(int step, double timestep, Tensor latents, IReadOnlyList<string> activeAdapters)
        {
        }

        public void OnCheckpoint(GenerationCheckpoint checkpoint) => Json.Add(JsonSerializer.Serialize(checkpoint));
    }

    [Theory]
    [InlineData("euler-a")]
    [InlineData("dpmpp-2m")]
    [InlineData("pndm")]
    public void Resumed_run_equals_uninterrupted_run(string scheduler)
    {
        var request = new GenerationRequest
        {
            Prompt = "a lighthouse at dusk",
            NegativePrompt = "blurry",
            Steps = 6,
            Seed = 42,
            Width = 64,
            Height = 64,
            Scheduler = scheduler,
            CheckpointEvery = 2,
        };
        var pipeline = new StableDiffusionPipeline(tiny.Model);
        var catcher = new CheckpointCatcher();
        using var full = new LatentRecorder();
        var uninterrupted = pipeline.Generate(request, observer: new Both(full, catcher));
        // Every 2 steps but never after the last one (PNDM runs one timestep more than the requested steps).
        Assert.Equal((full.Steps.Count - 1) / 2, catcher.Json.Count);

        var checkpoint = JsonSerializer.Deserialize<GenerationCheckpoint>(catcher.Json[0])!;
        Assert.Equal(2, checkpoint.CompletedSteps);
        using var resumed = new LatentRecorder();
        var result = new StableDiffusionPipeline(tiny.Model).Generate(request, observer: resumed, resumeFrom: checkpoint);
        Assert.Equal(full.Steps.Count - 2, resumed.Steps.Count);
        Assert.True(resumed.Steps[^1].ContentEquals(full.Steps[^1]), "resumed final latents differ from the uninterrupted run");
        Assert.Equal(uninterrupted.Images[0], result.Images[0]);
    }

    [Fact]
    public void A_checkpoint_of_another_size_is_refused()
    {
        var request = new GenerationRequest { Prompt = "x", Steps = 4, Width = 64, Height = 64, CheckpointEvery = 2 };
        var catcher = new CheckpointCatcher();
        new StableDiffusionPipeline(tiny.Model).Generate(request, observer: catcher);
        var checkpoint = JsonSerializer.Deserialize<GenerationCheckpoint>(catcher.Json[0])!;
        var e = Assert.Throws<ArgumentException>(() => new StableDiffusionPipeline(tiny.Model).Generate(request with { Width = 72 }, resumeFrom: checkpoint));
        Assert.Contains("do not fit", e.Message, StringComparison.Ordinal);
    }

    private sealed class Both(IDenoiseObserver a, IDenoiseObserver b) : IDenoiseObserver
    {
        public void OnInitialLatents(Tensor latents)
        {
            a.OnInitialLatents(latents);
            b.OnInitialLatents(latents);
        }

        public void OnStep(int step, double timestep, Tensor latents, IReadOnlyList<string> activeAdapters)
        {
            a.OnStep(step, timestep, latents, activeAdapters);
            b.OnStep(step, timestep, latents, activeAdapters);
        }

        public void OnCheckpoint(GenerationCheckpoint checkpoint)
        {
            a.OnCheckpoint(checkpoint);
            b.OnCheckpoint(checkpoint);
        }
    }
}
