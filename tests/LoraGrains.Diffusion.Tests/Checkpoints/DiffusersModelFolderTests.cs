using System.Text.Json.Nodes;
using LoraGrains.Diffusion.Checkpoints;
using LoraGrains.Diffusion.Models;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Tests.Checkpoints;

public sealed class DiffusersModelFolderTests
{
    [Fact]
    public void Fixture_OpensWithEveryComponent()
    {
        using var folder = DiffusersModelFolder.Open(Fixtures.SdTiny);

        Assert.Equal(304, folder.UNet.Weights.Count);
        Assert.Equal(244, folder.Vae.Weights.Count);
        Assert.Equal(68, folder.TextEncoder.Weights.Count);
        Assert.Equal("UNet2DConditionModel", folder.UNet.Config["_class_name"]!.GetValue<string>());
        Assert.Equal(Fixtures.Path("unet", "diffusion_pytorch_model.safetensors"), folder.UNet.WeightsPath);
        Assert.Equal(Fixtures.Path("text_encoder", "model.safetensors"), folder.TextEncoder.WeightsPath);
        Assert.Equal(Fixtures.Path("tokenizer"), folder.TokenizerPath);
        Assert.Equal("PNDMScheduler", folder.SchedulerConfig["_class_name"]!.GetValue<string>());
    }

    [Fact]
    public void ModelIndexPath_OpensTheFolder()
    {
        using var checkpoint = StableDiffusionCheckpoint.Open(Fixtures.Path("model_index.json"));
        Assert.False(checkpoint.IsSingleFile);
        Assert.Equal(Fixtures.Path("tokenizer"), checkpoint.TokenizerPath);
    }

    [Fact]
    public void MissingComponentFolder_NamesTheComponentAndPath()
    {
        using var temp = new TempDirectory();
        temp.CopyDiffusersModel();
        Directory.Delete(temp.File("vae"), recursive: true);

        var e = Assert.Throws<ModelLoadException>(() => StableDiffusionCheckpoint.Open(temp.Path));
        Assert.Contains("component 'vae' is missing", e.Message, StringComparison.Ordinal);
        Assert.Contains(temp.File("vae"), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingConfig_NamesTheComponentAndPath()
    {
        using var temp = new TempDirectory();
        temp.CopyDiffusersModel();
        File.Delete(temp.File("text_encoder", "config.json"));

        var e = Assert.Throws<ModelLoadException>(() => DiffusersModelFolder.Open(temp.Path));
        Assert.Contains("component 'text_encoder'", e.Message, StringComparison.Ordinal);
        Assert.Contains(temp.File("text_encoder", "config.json"), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BinOnlyComponent_IsRefusedNotUnpickled()
    {
        using var temp = new TempDirectory();
        temp.CopyDiffusersModel();
        File.Move(temp.File("unet", "diffusion_pytorch_model.safetensors"), temp.File("unet", "diffusion_pytorch_model.bin"));

        var e = Assert.Throws<ModelLoadException>(() => DiffusersModelFolder.Open(temp.Path));
        Assert.Contains("component 'unet'", e.Message, StringComparison.Ordinal);
        Assert.Contains("diffusion_pytorch_model.bin", e.Message, StringComparison.Ordinal);
        Assert.Contains("refuses to unpickle", e.Message, StringComparison.Ordinal);
        Assert.Contains(temp.File("unet"), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingTokenizerFiles_AreReported()
    {
        using var temp = new TempDirectory();
        temp.CopyDiffusersModel();
        File.Delete(temp.File("tokenizer", "merges.txt"));

        var e = Assert.Throws<ModelLoadException>(() => DiffusersModelFolder.Open(temp.Path));
        Assert.Contains("component 'tokenizer'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Fp16VariantFile_IsFound()
    {
        using var temp = new TempDirectory();
        temp.CopyDiffusersModel();
        File.Move(temp.File("vae", "diffusion_pytorch_model.safetensors"), temp.File("vae", "diffusion_pytorch_model.fp16.safetensors"));

        using var folder = DiffusersModelFolder.Open(temp.Path);
        Assert.EndsWith("diffusion_pytorch_model.fp16.safetensors", folder.Vae.WeightsPath, StringComparison.Ordinal);
        Assert.Equal(244, folder.Vae.Weights.Count);
    }

    [Fact]
    public void NonStableDiffusionIndex_IsRejected()
    {
        using var temp = new TempDirectory();
        temp.CopyDiffusersModel();
        var index = JsonNode.Parse(File.ReadAllText(temp.File("model_index.json")))!.AsObject();
        index["_class_name"] = "StableDiffusionXLPipeline";
        File.WriteAllText(temp.File("model_index.json"), index.ToJsonString());
        var e = Assert.Throws<ModelLoadException>(() => DiffusersModelFolder.Open(temp.Path));
        Assert.Contains("StableDiffusionXLPipeline is not supported", e.Message, StringComparison.Ordinal);

        index["_class_name"] = "StableDiffusionPipeline";
        index["vae"] = new JsonArray(null, null);
        File.WriteAllText(temp.File("model_index.json"), index.ToJsonString());
        e = Assert.Throws<ModelLoadException>(() => DiffusersModelFolder.Open(temp.Path));
        Assert.Contains("component 'vae' is missing or null", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DeprecatedVaeAttentionNames_AreRenamed()
    {
        using var temp = new TempDirectory();
        temp.CopyDiffusersModel();
        var vae = temp.File("vae", "diffusion_pytorch_model.safetensors");
        var original = temp.File("vae", "original.safetensors.orig");
        File.Move(vae, original);
        SafetensorsHeaderEdit.Rewrite(original, vae, h =>
        {
            SafetensorsHeaderEdit.Rename(h, "decoder.mid_block.attentions.0.to_q.weight", "decoder.mid_block.attentions.0.query.weight");
            SafetensorsHeaderEdit.Rename(h, "decoder.mid_block.attentions.0.to_out.0.bias", "decoder.mid_block.attentions.0.proj_attn.bias");
        });

        using var folder = DiffusersModelFolder.Open(temp.Path);
        using var reference = DiffusersModelFolder.Open(Fixtures.SdTiny);
        Assert.Equal(reference.Vae.Weights.Names.Order(StringComparer.Ordinal), folder.Vae.Weights.Names.Order(StringComparer.Ordinal));
        using var a = folder.Vae.Weights.Load("decoder.mid_block.attentions.0.to_q.weight", Device.Cpu, DType.Float32, 64, 64);
        using var b = reference.Vae.Weights.Load("decoder.mid_block.attentions.0.to_q.weight", Device.Cpu, DType.Float32, 64, 64);
        Assert.True(a.ContentEquals(b));
    }
}
