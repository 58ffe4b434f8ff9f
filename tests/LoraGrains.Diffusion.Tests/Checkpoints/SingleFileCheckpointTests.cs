using System.Text.Json.Nodes;
using LoraGrains.Diffusion.Checkpoints;
using LoraGrains.Diffusion.Models;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Tests.Checkpoints;

public sealed class SingleFileCheckpointTests
{
    private static readonly string[] Components = ["unet", "vae", "text_encoder"];

    // Fields the configs legitimately differ in: library versions written by diffusers/transformers.
    private static readonly string[] VersionFields = ["_diffusers_version", "transformers_version"];

    private static string SingleFile => Fixtures.Path("sd-tiny-ldm.safetensors");

    private static string Yaml => Fixtures.Path("sd-tiny-ldm.yaml");

    [Fact]
    public void SingleFile_WithYaml_LoadsBitwiseTheSameWeightsAsTheDiffusersFolder()
    {
        using var folder = StableDiffusionCheckpoint.Open(Fixtures.SdTiny);
        using var single = StableDiffusionCheckpoint.Open(SingleFile, Yaml);

        Assert.True(single.IsSingleFile);
        Assert.Empty(single.Report.Unmatched);
        Assert.Empty(single.Report.Missing);
        Assert.True(single.Report.IsComplete);
        AssertSameWeights(folder, single);
    }

    [Fact]
    public void SingleFile_WithYaml_ConfigsEqualTheDiffusersConfigs()
    {
        using var folder = StableDiffusionCheckpoint.Open(Fixtures.SdTiny);
        using var single = StableDiffusionCheckpoint.Open(SingleFile, Yaml);

        // Every field, not just the ones the models read: the derived configs are complete diffusers configs.
        foreach (var c in Components)
            JsonAssert.SameFields(folder[c].Config, single[c].Config, c, VersionFields);
        JsonAssert.SameFields(folder.SchedulerConfig, single.SchedulerConfig, "scheduler", VersionFields);

        var unet = single.UNet.Config;
        Assert.Equal("[32,64]", unet["block_out_channels"]!.ToJsonString());
        Assert.Equal("[\"CrossAttnDownBlock2D\",\"DownBlock2D\"]", unet["down_block_types"]!.ToJsonString());
        Assert.Equal("[\"UpBlock2D\",\"CrossAttnUpBlock2D\"]", unet["up_block_types"]!.ToJsonString());
        Assert.Equal(8, unet["attention_head_dim"]!.GetValue<int>());
        Assert.Equal(32, unet["cross_attention_dim"]!.GetValue<int>());
        Assert.Equal(32, unet["sample_size"]!.GetValue<int>());
        Assert.Equal(0.18215, single.Vae.Config["scaling_factor"]!.GetValue<double>());
        Assert.Equal(4, single.TextEncoder.Config["num_attention_heads"]!.GetValue<int>());
    }

    [Fact]
    public void SingleFile_WithoutYamlArgument_UsesTheSidecarYaml()
    {
        using var single = StableDiffusionCheckpoint.Open(SingleFile);

        Assert.Contains(single.Report.Notes, n => n.Contains("sd-tiny-ldm.yaml", StringComparison.Ordinal));
        Assert.Equal(32, single.UNet.Config["sample_size"]!.GetValue<int>());
        Assert.True(single.Report.IsComplete);
    }

    [Fact]
    public void SingleFile_ShapeInference_GivesTheSameArchitectureAndWeights()
    {
        // A copy without the sidecar yaml, but with the text encoder config the fixture's yaml points to
        // (the only source for the tiny CLIP's head count: 32 is not a multiple of CLIP's 64-wide heads).
        using var temp = new TempDirectory();
        var copy = temp.File("tiny.safetensors");
        File.Copy(SingleFile, copy);
        Directory.CreateDirectory(temp.File("text_encoder"));
        File.Copy(Fixtures.Path("text_encoder", "config.json"), temp.File("text_encoder", "config.json"));

        using var folder = StableDiffusionCheckpoint.Open(Fixtures.SdTiny);
        using var single = StableDiffusionCheckpoint.Open(copy);

        Assert.Contains(single.Report.Notes, n => n.StartsWith("UNet architecture inferred", StringComparison.Ordinal));
        Assert.Contains(single.Report.Notes, n => n.Contains("text_encoder/config.json", StringComparison.Ordinal));
        Assert.True(single.Report.IsComplete, single.Report.ToString());
        // sample_size is a default resolution, not architecture: shapes cannot tell it (SD 1.5's is assumed).
        foreach (var c in Components)
            JsonAssert.SameFields(folder[c].Config, single[c].Config, c, [.. VersionFields, "sample_size"]);
        AssertSameWeights(folder, single);
    }

    [Fact]
    public void Infer_MatchesTheYamlArchitecture()
    {
        using var ldm = LdmCheckpoint.Open(SingleFile, Yaml);
        using var file = LoraGrains.Torch.Safetensors.SafetensorsFile.Open(SingleFile);

        var unet = UNetArchitecture.Infer(file.Entries, SingleFile);
        var vae = VaeArchitecture.Infer(file.Entries, SingleFile);

        JsonAssert.SameFields(ldm.UNetArchitecture.ToDiffusersConfig(), unet.ToDiffusersConfig(), "unet", "sample_size");
        JsonAssert.SameFields(ldm.VaeArchitecture.ToDiffusersConfig(), vae.ToDiffusersConfig(), "vae", "sample_size");
        Assert.Equal(ldm.UNetArchitecture.AttentionLevels, unet.AttentionLevels);
    }

    [Fact]
    public void KeyMaps_CoverEveryTensorOfTheFileExactlyOnce()
    {
        using var ldm = LdmCheckpoint.Open(SingleFile, Yaml);
        using var file = LoraGrains.Torch.Safetensors.SafetensorsFile.Open(SingleFile);
        var rows = UNetKeyMap.Create(ldm.UNetArchitecture)
            .Concat(VaeKeyMap.Create(ldm.VaeArchitecture))
            .Concat(TextEncoderKeyMap.Create(ldm.TextEncoderArchitecture))
            .ToList();

        Assert.Equal(file.Entries.Count, rows.Count);
        Assert.Equal(file.Entries.Keys.Order(StringComparer.Ordinal), rows.Select(r => r.SourceName).Order(StringComparer.Ordinal));
        Assert.Equal(rows.Count, rows.Select(r => r.DiffusersName).Distinct().Count());
    }

    [Fact]
    public void UNetKeyMap_MapsTheLdmNamesDiffusersConvertsThemTo()
    {
        using var ldm = LdmCheckpoint.Open(SingleFile, Yaml);
        var map = UNetKeyMap.Create(ldm.UNetArchitecture).ToDictionary(r => r.SourceName, r => r.DiffusersName);
        const string P = UNetArchitecture.SourcePrefix;

        Assert.Equal("conv_in.weight", map[P + "input_blocks.0.0.weight"]);
        Assert.Equal("time_embedding.linear_2.bias", map[P + "time_embed.2.bias"]);
        Assert.Equal("down_blocks.0.attentions.1.proj_in.weight", map[P + "input_blocks.2.1.proj_in.weight"]);
        Assert.Equal("down_blocks.0.downsamplers.0.conv.weight", map[P + "input_blocks.3.0.op.weight"]);
        Assert.Equal("down_blocks.1.resnets.0.conv_shortcut.weight", map[P + "input_blocks.4.0.skip_connection.weight"]);
        Assert.Equal("mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight", map[P + "middle_block.1.transformer_blocks.0.attn2.to_k.weight"]);
        Assert.Equal("mid_block.resnets.1.time_emb_proj.weight", map[P + "middle_block.2.emb_layers.1.weight"]);
        Assert.Equal("up_blocks.0.upsamplers.0.conv.weight", map[P + "output_blocks.2.1.conv.weight"]);
        Assert.Equal("up_blocks.1.attentions.2.norm.weight", map[P + "output_blocks.5.1.norm.weight"]);
        Assert.Equal("conv_norm_out.weight", map[P + "out.0.weight"]);

        var vae = VaeKeyMap.Create(ldm.VaeArchitecture).ToDictionary(r => r.SourceName);
        const string V = VaeArchitecture.SourcePrefix;
        // Decoder levels are numbered the other way round in diffusers.
        Assert.Equal("decoder.up_blocks.0.upsamplers.0.conv.weight", vae[V + "decoder.up.3.upsample.conv.weight"].DiffusersName);
        Assert.Equal("decoder.up_blocks.1.resnets.0.conv_shortcut.weight", vae[V + "decoder.up.2.block.0.nin_shortcut.weight"].DiffusersName);
        Assert.Equal("encoder.mid_block.attentions.0.to_out.0.weight", vae[V + "encoder.mid.attn_1.proj_out.weight"].DiffusersName);
        Assert.Equal([64L, 64], vae[V + "encoder.mid.attn_1.proj_out.weight"].Shape);
        Assert.True(vae[V + "encoder.mid.attn_1.proj_out.weight"].Accepts([64, 64, 1, 1]));
        Assert.False(vae[V + "encoder.mid.attn_1.proj_out.weight"].Accepts([64, 32, 2, 1]));
    }

    [Fact]
    public void Sd15Architecture_KeyMapHasTheSd15TensorCounts()
    {
        // SD 1.5 (v1-inference.yaml): 686 UNet tensors, 248 VAE tensors, 196 text encoder tensors.
        var unet = new UNetArchitecture
        {
            InChannels = 4, OutChannels = 4, ModelChannels = 320, ChannelMult = [1, 2, 4, 4], LayersPerBlock = 2,
            AttentionLevels = [true, true, true, false], TransformerDepth = 1, ContextDim = 768, NumHeads = 8, UseLinearProjection = false,
        };
        var vae = new VaeArchitecture { InChannels = 3, OutChannels = 3, BaseChannels = 128, ChannelMult = [1, 2, 4, 4], LayersPerBlock = 2, LatentChannels = 4 };
        Assert.Equal(686, UNetKeyMap.Create(unet).Count);
        Assert.Equal(248, VaeKeyMap.Create(vae).Count);
        Assert.Equal(196, TextEncoderKeyMap.Create(TextEncoderArchitecture.Sd1Default).Count);
        var rows = UNetKeyMap.Create(unet).ToDictionary(r => r.SourceName);
        Assert.Equal("up_blocks.2.upsamplers.0.conv.weight", rows["model.diffusion_model.output_blocks.8.2.conv.weight"].DiffusersName);
        Assert.Equal([1280L, 2560, 3, 3], rows["model.diffusion_model.output_blocks.0.0.in_layers.2.weight"].Shape);
        Assert.Equal([320L, 768], rows["model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight"].Shape);
    }

    [Fact]
    public void ModelHash_IsTheA1111ShortSha256_OfTheFileOrTheFolderUNet()
    {
        var files = JsonNode.Parse(File.ReadAllText(Fixtures.Path("generation_summary.json")))!["files"]!;
        using var single = StableDiffusionCheckpoint.Open(SingleFile, Yaml);
        using var folder = StableDiffusionCheckpoint.Open(Fixtures.SdTiny);

        var singleSha = files["sd-tiny-ldm.safetensors"]!["sha256"]!.GetValue<string>();
        var unetSha = files["unet/diffusion_pytorch_model.safetensors"]!["sha256"]!.GetValue<string>();
        Assert.Equal(singleSha, single.Sha256);
        Assert.Equal(singleSha[..10], single.ModelHash);
        Assert.Equal(unetSha[..10], folder.ModelHash);
    }

    [Fact]
    public void SingleFile_HasNoTokenizer_AndGetsThePndmSchedulerWithTheYamlSchedule()
    {
        using var single = StableDiffusionCheckpoint.Open(SingleFile, Yaml);
        Assert.Null(single.TokenizerPath);
        Assert.Equal("PNDMScheduler", single.SchedulerConfig["_class_name"]!.GetValue<string>());
        Assert.Equal(0.00085, single.SchedulerConfig["beta_start"]!.GetValue<double>());
        Assert.Equal(0.012, single.SchedulerConfig["beta_end"]!.GetValue<double>());
    }

    [Fact]
    public void TextEncoderHeads_FromTheYamlExtensionField()
    {
        using var temp = new TempDirectory();
        var copy = temp.File("tiny.safetensors");
        File.Copy(SingleFile, copy);
        var yaml = temp.File("custom.yaml");
        File.WriteAllText(yaml, File.ReadAllText(Yaml).TrimEnd() + "\n        num_attention_heads: 4\n");

        using var single = StableDiffusionCheckpoint.Open(copy, yaml);
        Assert.Equal(4, single.TextEncoder.Config["num_attention_heads"]!.GetValue<int>());
        Assert.Contains(single.Report.Notes, n => n.Contains("num_attention_heads", StringComparison.Ordinal));
    }

    [Fact]
    public void ExtraAndSkippableKeys_AreReportedOrCountedAndMissingKeysListed()
    {
        using var temp = new TempDirectory();
        var copy = temp.File("edited.safetensors");
        SafetensorsHeaderEdit.Rewrite(SingleFile, copy, h =>
        {
            // Same bytes under other names: one becomes an EMA copy, one a stray key, one a schedule buffer.
            SafetensorsHeaderEdit.Rename(h, "model.diffusion_model.out.2.bias", "model_ema.diffusion_modelout2bias");
            SafetensorsHeaderEdit.Rename(h, "first_stage_model.quant_conv.bias", "first_stage_model.something_new.bias");
            SafetensorsHeaderEdit.Rename(h, "cond_stage_model.transformer.text_model.final_layer_norm.bias", "alphas_cumprod");
        });

        using var single = StableDiffusionCheckpoint.Open(copy, Yaml);
        Assert.Equal(["first_stage_model.something_new.bias"], single.Report.Unmatched);
        Assert.Equal(2, single.Report.SkippedCount);
        Assert.Equal(
            ["text_encoder text_model.final_layer_norm.bias", "unet conv_out.bias", "vae quant_conv.bias"],
            single.Report.Missing.Select(m => m.Component + " " + m.Name).Order(StringComparer.Ordinal));
        Assert.False(single.UNet.Weights.Contains("conv_out.bias"));
    }

    private static void AssertSameWeights(StableDiffusionCheckpoint expected, StableDiffusionCheckpoint actual)
    {
        foreach (var c in Components)
        {
            StateDict a = expected[c].Weights, b = actual[c].Weights;
            Assert.Equal(a.Names.Order(StringComparer.Ordinal), b.Names.Order(StringComparer.Ordinal));
            foreach (var name in a.Names)
            {
                using var x = a.Load(name, Device.Cpu, DType.Float32);
                using var y = b.Load(name, Device.Cpu, DType.Float32);
                Assert.True(x.ContentEquals(y), $"{c} '{name}': the single file's tensor differs from the diffusers folder's");
            }

            Assert.Empty(b.Unused);
        }
    }
}
