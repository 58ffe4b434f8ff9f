using System.Text.Json;
using LoraGrains.Diffusion.Pipeline;
using LoraGrains.Torch;
using LoraGrains.Torch.Safetensors;

namespace LoraGrains.Diffusion.Tests.Pipeline;

/// <summary>The full txt2img run of refs/txt2img.* (diffusers 0.26.3, DPM++ 2M, 10 steps, seed 11).</summary>
public sealed class TxtToImgReferenceTests(SdTinyModel tiny) : IClassFixture<SdTinyModel>
{
    [Fact]
    public void Run_matches_diffusers_step_by_step()
    {
        // Python's json writes -Infinity (lambda_min_clipped), which is not JSON; that field is not used here.
        using var json = JsonDocument.Parse(File.ReadAllText(Fixtures.Path("refs", "txt2img.json")).Replace("-Infinity", "null", StringComparison.Ordinal));
        var p = json.RootElement;
        var request = new GenerationRequest
        {
            Prompt = p.GetProperty("prompt").GetString()!,
            NegativePrompt = p.GetProperty("negative_prompt").GetString()!,
            Steps = p.GetProperty("num_inference_steps").GetInt32(),
            GuidanceScale = p.GetProperty("guidance_scale").GetDouble(),
            Seed = p.GetProperty("seed").GetUInt64(),
            Width = p.GetProperty("width").GetInt32(),
            Height = p.GetProperty("height").GetInt32(),
            Scheduler = "dpmpp-2m",
        };

        using var recorder = new LatentRecorder();
        var result = new StableDiffusionPipeline(tiny.Model).Generate(request, observer: recorder);
        using var refs = SafetensorsFile.Open(Fixtures.Path("refs", "txt2img.safetensors"));
        using var scope = TensorScope.Enter();

        // The initial latents come from our CPU generator: they must be bit-identical.
        Assert.True(recorder.Initial!.ContentEquals(refs.Load("txt2img.init_latents")), "initial latents differ from diffusers'");
        Assert.Equal(10, recorder.Steps.Count);
        for (var i = 0; i < recorder.Steps.Count; i++)
        {
            TensorAssert.Close(recorder.Steps[i], refs.Load($"txt2img.step{i:00}.latents_after"), 1e-4, $"latents after step {i}");
        }

        TensorAssert.Close(recorder.Steps[^1], refs.Load("txt2img.final_latents"), 1e-4, "final latents");

        // The PNG decodes to the reference image within rounding (a few pixels may round the other way).
        var expected = Diffusion.Imaging.PngDecoder.Decode(File.ReadAllBytes(Fixtures.Path("refs", "txt2img.png")));
        var actual = Diffusion.Imaging.PngDecoder.Decode(result.Images[0]);
        Assert.Equal(expected.Width, actual.Width);
        Assert.Equal(expected.Height, actual.Height);
        var maxDiff = expected.Pixels.Zip(actual.Pixels, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(maxDiff <= 1, $"image differs from diffusers' by up to {maxDiff}/255");
        Assert.Contains("Steps: 10, Sampler: DPM++ 2M, CFG scale: 7.5, Seed: 11, Size: 256x256", result.Parameters, StringComparison.Ordinal);
    }

    [Fact]
    public void Cancellation_stops_between_steps()
    {
        using var cts = new CancellationTokenSource();
        var progress = new Progress(cts);
        var request = new GenerationRequest { Prompt = "x", Steps = 5, Width = 64, Height = 64 };
        Assert.Throws<OperationCanceledException>(() => new StableDiffusionPipeline(tiny.Model).Generate(request, progress, cancellationToken: cts.Token));
        Assert.Equal(1, progress.Reports);
    }

    [Theory]
    [InlineData(0, 64, 64, "steps")]
    [InlineData(5, 60, 64, "multiple of 8")]
    [InlineData(5, 64, 0, "height")]
    public void Bad_requests_are_refused_with_the_field_named(int steps, int width, int height, string expected)
    {
        var request = new GenerationRequest { Prompt = "x", Steps = steps, Width = width, Height = height };
        var e = Assert.ThrowsAny<ArgumentException>(() => new StableDiffusionPipeline(tiny.Model).Generate(request));
        Assert.Contains(expected, e.Message, StringComparison.OrdinalIgnoreCase);
    }

    private sealed class Progress(CancellationTokenSource cts) : IProgress<GenerationProgress>
    {
        public int Reports { get; private set; }

        public void Report(GenerationProgress value)
        {
            Reports++;
            cts.Cancel();
        }
    }
}
