using System.Text;

namespace LoraGrains.Cli.Tests;

public sealed class GenerateCommandTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lg-cli-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string Out => Path.Combine(dir, "out.png");

    // The embedded silo's default data directory is $XDG_DATA_HOME/lora-grains: pointed into the test's folder.
    private (int ExitCode, string Stdout, string Stderr) Generate(params string[] args) =>
        CliProcess.RunWith(new Dictionary<string, string> { ["XDG_DATA_HOME"] = Path.Combine(dir, "xdg") }, ["generate", .. args]);

    [Fact]
    public void Two_adapter_composite_on_the_embedded_model_writes_a_png_with_parameters()
    {
        var (code, stdout, stderr) = Generate("--prompt", "kamado nezuko", "--steps", "2", "--width", "64", "--height", "64",
            "--seed", "3", "--lora", CliProcess.FixtureLora("lora_a_kohya") + ":0.9", "--lora", CliProcess.FixtureLora("lora_b_locon_kohya"),
            "--method", "composite", "--out", Out);
        Assert.True(code == 0, stderr);
        Assert.Contains("RANDOM weights", stderr, StringComparison.Ordinal);
        Assert.Contains("step    2/2", stderr, StringComparison.Ordinal);
        Assert.Equal(Out, stdout.Trim());
        var png = File.ReadAllBytes(Out);
        Assert.Equal([137, 80, 78, 71], png[..4]);
        var text = Encoding.Latin1.GetString(png);
        Assert.Contains("Steps: 2, Sampler: DPM++ 2M, CFG scale: 7.5, Seed: 3, Size: 64x64", text, StringComparison.Ordinal);
        Assert.Contains("Lora method: composite", text, StringComparison.Ordinal);
        Assert.Contains("lora_a_kohya: 0.9, lora_b_locon_kohya: 1", text, StringComparison.Ordinal);

        // It ran through the embedded silo, whose data went to the default directory.
        Assert.True(File.Exists(Path.Combine(dir, "xdg", "lora-grains", "cluster.db")));
        Assert.Equal(2, Directory.GetFiles(Path.Combine(dir, "xdg", "lora-grains", "adapters")).Length);
        Assert.Single(Directory.GetFiles(Path.Combine(dir, "xdg", "lora-grains", "images")));
    }

    [Fact]
    public void A_prompt_past_77_tokens_is_generated_with_a_truncation_warning()
    {
        var longPrompt = string.Join(' ', Enumerable.Range(0, 90).Select(i => $"word{i}"));
        var (code, _, stderr) = Generate("--prompt", longPrompt, "--negative", "blurry", "--steps", "1", "--width", "64", "--height", "64", "--out", Out);
        Assert.True(code == 0, stderr);
        Assert.Contains("warning: the prompt is longer than 77 tokens and was truncated", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("negative prompt is longer", stderr, StringComparison.Ordinal);
        Assert.True(File.Exists(Out));
    }

    [Fact]
    public void Empty_prompt_file_is_refused_and_nothing_is_written()
    {
        var prompt = Path.Combine(dir, "prompt.txt");
        File.WriteAllText(prompt, "  \n");
        var (code, _, stderr) = Generate("--prompt-file", prompt, "--out", Out);
        Assert.Equal(2, code);
        Assert.Contains("is empty", stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Out));
    }

    [Fact]
    public void Non_utf8_prompt_file_is_refused_and_nothing_is_written()
    {
        var prompt = Path.Combine(dir, "prompt.txt");
        File.WriteAllBytes(prompt, [0x61, 0xFF, 0xFE, 0x62]);
        var (code, _, stderr) = Generate("--prompt-file", prompt, "--out", Out);
        Assert.Equal(2, code);
        Assert.Contains("not valid UTF-8", stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Out));
    }

    [Theory]
    [InlineData("--width", "60", "multiple of 8")]
    [InlineData("--steps", "0", "steps must be between 1")]
    [InlineData("--scheduler", "heun", "dpmpp-2m")]
    [InlineData("--method", "blend", "merge, switch, composite, fusion")]
    [InlineData("--lora-scale", "nan", "must be a number")]
    [InlineData("--bogus", "1", "unknown option: --bogus")]
    public void Bad_arguments_name_the_problem_and_write_nothing(string option, string value, string expected)
    {
        var (code, _, stderr) = Generate("--prompt", "x", option, value, "--out", Out);
        Assert.NotEqual(0, code);
        Assert.Contains(expected, stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Out));
    }

    [Fact]
    public void Missing_model_and_truncated_adapter_are_clear_errors()
    {
        var (code, _, stderr) = Generate("--prompt", "x", "--model", Path.Combine(dir, "nope"), "--out", Out);
        Assert.Equal(1, code);
        Assert.Contains("nope", stderr, StringComparison.Ordinal);

        var truncated = Path.Combine(dir, "cut.safetensors");
        var bytes = File.ReadAllBytes(CliProcess.FixtureLora("lora_a_kohya"));
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        (code, _, stderr) = Generate("--prompt", "x", "--steps", "1", "--width", "64", "--height", "64", "--lora", truncated, "--out", Out);
        Assert.Equal(1, code);
        Assert.Contains("cut.safetensors", stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Out));
    }
}
