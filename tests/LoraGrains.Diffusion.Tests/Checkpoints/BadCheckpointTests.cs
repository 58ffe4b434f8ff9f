using LoraGrains.Diffusion.Checkpoints;
using LoraGrains.Diffusion.Models;

namespace LoraGrains.Diffusion.Tests.Checkpoints;

public sealed class BadCheckpointTests
{
    private static string SingleFile => Fixtures.Path("sd-tiny-ldm.safetensors");

    private static string Yaml => Fixtures.Path("sd-tiny-ldm.yaml");

    [Fact]
    public void Lora_IsNotAStableDiffusionCheckpoint()
    {
        var e = Assert.Throws<ModelLoadException>(() => StableDiffusionCheckpoint.Open(Fixtures.Path("loras", "lora_a_kohya.safetensors")));
        Assert.Contains("not a Stable Diffusion checkpoint: no model.diffusion_model.* keys", e.Message, StringComparison.Ordinal);
        Assert.Contains("LoRA", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DiffusersWeightsFile_IsNotAStableDiffusionCheckpoint()
    {
        var e = Assert.Throws<ModelLoadException>(() => StableDiffusionCheckpoint.Open(Fixtures.Path("unet", "diffusion_pytorch_model.safetensors")));
        Assert.Contains("no model.diffusion_model.* keys", e.Message, StringComparison.Ordinal);
        Assert.Contains("diffusers model folder", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TruncatedFile_IsRejected()
    {
        using var temp = new TempDirectory();
        var path = temp.File("truncated.safetensors");
        var bytes = File.ReadAllBytes(SingleFile);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);

        var e = Assert.Throws<ModelLoadException>(() => StableDiffusionCheckpoint.Open(path, Yaml));
        Assert.Contains("cannot read checkpoint", e.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TruncatedHeader_IsRejected()
    {
        using var temp = new TempDirectory();
        var path = temp.File("stub.safetensors");
        File.WriteAllBytes(path, File.ReadAllBytes(SingleFile)[..4000]);

        var e = Assert.Throws<ModelLoadException>(() => StableDiffusionCheckpoint.Open(path));
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void WrongShape_NamesTheKeyAndBothShapes(bool withYaml)
    {
        using var temp = new TempDirectory();
        var path = temp.File("bad.safetensors");
        const string Key = "model.diffusion_model.input_blocks.2.1.transformer_blocks.0.ff.net.2.weight";
        SafetensorsHeaderEdit.Rewrite(SingleFile, path, h => h[Key]!["shape"] = new System.Text.Json.Nodes.JsonArray(128, 32));
        if (!withYaml)
        {
            Directory.CreateDirectory(temp.File("text_encoder"));
            File.Copy(Fixtures.Path("text_encoder", "config.json"), temp.File("text_encoder", "config.json"));
        }

        var e = Assert.Throws<ModelLoadException>(() => StableDiffusionCheckpoint.Open(path, withYaml ? Yaml : null));
        Assert.Contains($"'{Key}'", e.Message, StringComparison.Ordinal);
        Assert.Contains("'down_blocks.0.attentions.1.transformer_blocks.0.ff.net.2.weight'", e.Message, StringComparison.Ordinal);
        Assert.Contains("[128, 32]", e.Message, StringComparison.Ordinal);
        Assert.Contains("[32, 128]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void YamlDisagreeingWithTheFile_IsAShapeError()
    {
        using var temp = new TempDirectory();
        var yaml = temp.File("wrong.yaml");
        File.WriteAllText(yaml, File.ReadAllText(Yaml).Replace("context_dim: 32", "context_dim: 48", StringComparison.Ordinal));

        var e = Assert.Throws<ModelLoadException>(() => StableDiffusionCheckpoint.Open(SingleFile, yaml));
        Assert.Contains("attn2.to_k.weight", e.Message, StringComparison.Ordinal);
        Assert.Contains("[32, 32]", e.Message, StringComparison.Ordinal);
        Assert.Contains("[32, 48]", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("model.ckpt", new byte[] { (byte)'P', (byte)'K', 3, 4, 0, 0, 0, 0, 0, 0 }, "torch.save zip archive")]
    [InlineData("model.safetensors", new byte[] { 0x80, 0x02, (byte)'}', (byte)'q', 0, 0, 0, 0, 0, 0 }, "raw pickle stream")]
    [InlineData("model.pt", new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, "'.pt' file")]
    public void PickledCheckpoints_AreRefused(string name, byte[] content, string kind)
    {
        using var temp = new TempDirectory();
        var path = temp.File(name);
        File.WriteAllBytes(path, content);

        var e = Assert.Throws<ModelLoadException>(() => StableDiffusionCheckpoint.Open(path));
        Assert.Contains("pickled PyTorch checkpoint", e.Message, StringComparison.Ordinal);
        Assert.Contains(kind, e.Message, StringComparison.Ordinal);
        Assert.Contains("refuses", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SafetensorsRenamedCkpt_StillOpens()
    {
        using var temp = new TempDirectory();
        var path = temp.File("model.ckpt");
        File.Copy(SingleFile, path);
        using var checkpoint = StableDiffusionCheckpoint.Open(path, Yaml);
        Assert.True(checkpoint.Report.IsComplete);
    }

    [Fact]
    public void Sdxl_IsRefused()
    {
        using var temp = new TempDirectory();
        var path = temp.File("sdxl.safetensors");
        SafetensorsHeaderEdit.WriteZeros(path,
            ("model.diffusion_model.input_blocks.0.0.weight", [320, 4, 3, 3]),
            ("model.diffusion_model.label_emb.0.0.weight", [1280, 2816]),
            ("conditioner.embedders.0.transformer.text_model.final_layer_norm.weight", [768]));

        var e = Assert.Throws<ModelLoadException>(() => StableDiffusionCheckpoint.Open(path));
        Assert.Contains("SDXL checkpoint", e.Message, StringComparison.Ordinal);
        Assert.Contains("only SD 1.x", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sd2_IsRefused()
    {
        using var temp = new TempDirectory();
        var path = temp.File("sd2.safetensors");
        SafetensorsHeaderEdit.WriteZeros(path,
            ("model.diffusion_model.input_blocks.0.0.weight", [320, 4, 3, 3]),
            ("cond_stage_model.model.ln_final.weight", [1024]));

        var e = Assert.Throws<ModelLoadException>(() => StableDiffusionCheckpoint.Open(path));
        Assert.Contains("SD 2.x checkpoint", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sd2Yaml_IsRefused()
    {
        using var temp = new TempDirectory();
        var yaml = temp.File("v2.yaml");
        File.WriteAllText(yaml, File.ReadAllText(Yaml).Replace(
            "ldm.modules.encoders.modules.FrozenCLIPEmbedder", "ldm.modules.encoders.modules.FrozenOpenCLIPEmbedder", StringComparison.Ordinal));

        var e = Assert.Throws<ModelLoadException>(() => StableDiffusionCheckpoint.Open(SingleFile, yaml));
        Assert.Contains("SD 2.x text encoder", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TextEncoderHeads_WithoutAnySource_AreNotGuessed()
    {
        using var temp = new TempDirectory();
        var path = temp.File("alone.safetensors");
        File.Copy(SingleFile, path);

        var e = Assert.Throws<ModelLoadException>(() => StableDiffusionCheckpoint.Open(path));
        Assert.Contains("number of attention heads", e.Message, StringComparison.Ordinal);
        Assert.Contains("hidden size 32", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingPaths_AreReported()
    {
        var e = Assert.Throws<ModelLoadException>(() => StableDiffusionCheckpoint.Open(Fixtures.Path("nope.safetensors")));
        Assert.Contains("no such file or folder", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ModelLoadException>(() => StableDiffusionCheckpoint.Open(SingleFile, Fixtures.Path("nope.yaml")));
        Assert.Contains("yaml config not found", e.Message, StringComparison.Ordinal);
    }
}
