using System.Text;
using LoraGrains.Cluster.Runtime;
using LoraGrains.Diffusion.Composition;
using LoraGrains.Diffusion.Lora;
using LoraGrains.Diffusion.Pipeline;
using LoraGrains.Torch;

namespace LoraGrains.Cli.Tests;

/// <summary>
/// <c>generate</c> runs through an embedded silo; every option must reach the engine unchanged, so its PNG must be
/// byte-for-byte the one the pipeline gives when called directly with the same request (what <c>generate</c> did before).
/// </summary>
public sealed class GenerateThroughSiloTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lg-cli-silo-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Theory]
    [InlineData("fusion")]
    [InlineData("composite")]
    [InlineData("switch")]
    public void The_image_is_the_one_the_pipeline_gives_directly(string method)
    {
        var a = CliProcess.FixtureLora("lora_a_kohya");
        var b = CliProcess.FixtureLora("lora_b_locon_kohya");
        var request = method switch
        {
            "fusion" => new GenerationRequest
            {
                Prompt = "kamado nezuko, pink eyes",
                NegativePrompt = "blurry",
                Steps = 3,
                Seed = 9,
                Scheduler = "euler-a",
                GuidanceScale = 5,
                ClipSkip = 1,
                BatchSize = 2,
                Method = CompositionMethod.Fusion,
                LoraScale = 0.7,
                FusionTemperature = 0.2,
                Adapters = [new AdapterUse("lora_a_kohya", 0.9, WeightSchedule.Parse("0=0;0.5=1"), "pink eyes"), new AdapterUse("lora_b_locon_kohya", 0.6, null, "a kimono")],
            },
            "composite" => new GenerationRequest
            {
                Prompt = "a girl in a kimono",
                Steps = 2,
                Seed = 4,
                Scheduler = "ddim",
                Method = CompositionMethod.Composite,
                BatchedComposite = false,
                Adapters = [new AdapterUse("lora_a_kohya", 1.0), new AdapterUse("lora_b_locon_kohya", 0.5)],
            },
            _ => new GenerationRequest
            {
                Prompt = "a lighthouse",
                Steps = 3,
                Seed = 2,
                Method = CompositionMethod.Switch,
                SwitchEvery = 1,
                Adapters = [new AdapterUse("lora_a_kohya", 0.8), new AdapterUse("lora_b_locon_kohya", 1.2)],
            },
        };
        request = request with { Width = 64, Height = method == "switch" ? 72 : 64 };

        var output = Path.Combine(dir, "out.png");
        string[] args = method switch
        {
            "fusion" => ["--method", "fusion", "--prompt", request.Prompt, "--negative", "blurry", "--steps", "3", "--seed", "9", "--scheduler", "euler-a",
                "--cfg", "5", "--clip-skip", "1", "--batch", "2", "--lora-scale", "0.7", "--fusion-temperature", "0.2",
                "--lora", a + ":0.9@0=0;0.5=1", "--lora", b + ":0.6", "--lora-key", "pink eyes", "--lora-key", "a kimono"],
            "composite" => ["--method", "composite", "--sequential-composite", "--prompt", request.Prompt, "--steps", "2", "--seed", "4", "--scheduler", "ddim",
                "--lora", a, "--lora", b + ":0.5"],
            _ => ["--method", "switch", "--switch-every", "1", "--prompt", request.Prompt, "--steps", "3", "--seed", "2", "--lora", a + ":0.8", "--lora", b + ":1.2"],
        };
        var (code, stdout, stderr) = CliProcess.Run(["generate", .. args, "--width", "64", "--height", request.Height.ToString(), "--threads", "1",
            "--data", Path.Combine(dir, "data"), "--out", output]);
        Assert.True(code == 0, stderr);
        Assert.True(Directory.Exists(Path.Combine(dir, "data", "adapters")), "--data names the embedded silo's data directory");

        var expected = Direct(request, a, b);
        var written = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(expected.Count, written.Length);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected.Count == 1 ? output : Path.Combine(dir, $"out-{i + 1}.png"), written[i]);
            Assert.Equal(expected[i], File.ReadAllBytes(written[i]));
        }

        var text = Encoding.Latin1.GetString(File.ReadAllBytes(written[0]));
        Assert.Contains($"Lora method: {method}", text, StringComparison.Ordinal);
        if (method == "fusion")
        {
            Assert.Contains("lora_a_kohya: 0.9 @0=0;0.5=1, lora_b_locon_kohya: 0.6", text, StringComparison.Ordinal);
            Assert.Contains("fusion weights: ", stderr, StringComparison.Ordinal);
        }
    }

    // What generate did before it went through a silo: load, attach under the file names, run the pipeline.
    private static IReadOnlyList<byte[]> Direct(GenerationRequest request, params string[] loras)
    {
        Torch.Torch.NumThreads = 1;
        using var model = StableDiffusionModel.Load(ModelHost.EmbeddedModelPath, new ModelLoadOptions { Device = Device.Cpu });
        var adapters = loras.Select(l => LoraAdapter.Load(l, model.Targets, model.Device, model.DType)).ToList();
        try
        {
            foreach (var adapter in adapters) model.Adapters.Attach(adapter.Name, adapter);
            return new StableDiffusionPipeline(model).Generate(request).Images;
        }
        finally
        {
            model.Adapters.Dispose();
            foreach (var adapter in adapters) adapter.Dispose();
        }
    }
}
