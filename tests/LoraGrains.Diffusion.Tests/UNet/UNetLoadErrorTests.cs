using System.Text.Json.Nodes;
using LoraGrains.Diffusion.Models;
using LoraGrains.Diffusion.Models.UNet;
using LoraGrains.Torch;
using LoraGrains.Torch.Safetensors;

namespace LoraGrains.Diffusion.Tests.UNet;

/// <summary>Config parsing and the errors a bad config or checkpoint gives.</summary>
public sealed class UNetLoadErrorTests : IDisposable
{
    private readonly string tempDir = Directory.CreateTempSubdirectory("lg-unet-").FullName;

    public void Dispose() => Directory.Delete(tempDir, recursive: true);

    private static JsonObject FixtureConfigJson() => JsonNode.Parse(File.ReadAllText(Fixtures.Path("unet", "config.json")))!.AsObject();

    private static UNetConfig FixtureConfig() => UNetConfig.FromFile(Fixtures.Path("unet", "config.json"));

    [Fact]
    public void Parse_FixtureConfig()
    {
        var c = FixtureConfig();
        Assert.Equal([32, 64], c.BlockOutChannels);
        Assert.Equal([UNetConfig.CrossAttnDownBlock2D, UNetConfig.DownBlock2D], c.DownBlockTypes);
        Assert.Equal([UNetConfig.UpBlock2D, UNetConfig.CrossAttnUpBlock2D], c.UpBlockTypes);
        Assert.Equal(UNetConfig.UNetMidBlock2DCrossAttn, c.MidBlockType);
        Assert.Equal([2, 2], c.LayersPerBlock);
        Assert.Equal([8, 8], c.NumAttentionHeads);
        Assert.Equal([32, 32], c.CrossAttentionDim);
        Assert.Equal([1, 1], c.TransformerLayersPerBlock);
        Assert.Equal(128, c.EffectiveTimeEmbeddingDim);
        Assert.Equal(32, c.TimestepProjectionDim);
        Assert.Equal(1e-5, c.NormEps);
        Assert.Equal(32, c.SampleSize);
        Assert.True(c.FlipSinToCos);
        Assert.Equal(0, c.FreqShift);
        Assert.False(c.UseLinearProjection);
        Assert.False(c.UpcastAttention);
    }

    [Fact]
    public void Parse_NumAttentionHeads_TakesPrecedence_AndListsArePerBlock()
    {
        var json = FixtureConfigJson();
        json["attention_head_dim"] = new JsonArray(4, 8);
        Assert.Equal([4, 8], UNetConfig.Parse(json.ToJsonString()).NumAttentionHeads);
        json["num_attention_heads"] = 2;
        Assert.Equal([2, 2], UNetConfig.Parse(json.ToJsonString()).NumAttentionHeads);
    }

    [Fact]
    public void Parse_StableDiffusion21Config()
    {
        // stabilityai/stable-diffusion-2-1 unet/config.json (diffusers 0.10 era: no num_attention_heads key).
        const string json = """
            {"_class_name": "UNet2DConditionModel", "_diffusers_version": "0.10.0.dev0", "act_fn": "silu",
             "attention_head_dim": [5, 10, 20, 20], "block_out_channels": [320, 640, 1280, 1280], "center_input_sample": false,
             "cross_attention_dim": 1024,
             "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
             "downsample_padding": 1, "dual_cross_attention": false, "flip_sin_to_cos": true, "freq_shift": 0, "in_channels": 4,
             "layers_per_block": 2, "mid_block_scale_factor": 1, "norm_eps": 1e-05, "norm_num_groups": 32, "num_class_embeds": null,
             "only_cross_attention": false, "out_channels": 4, "sample_size": 96,
             "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
             "use_linear_projection": true, "upcast_attention": true}
            """;
        var c = UNetConfig.Parse(json);
        Assert.Equal([5, 10, 20, 20], c.NumAttentionHeads);
        Assert.Equal([1024, 1024, 1024, 1024], c.CrossAttentionDim);
        Assert.True(c.UseLinearProjection);
        Assert.True(c.UpcastAttention);
        Assert.Equal(96, c.SampleSize);
        Assert.Equal([320, 640, 1280, 1280], c.BlockOutChannels);
        Assert.Equal([2, 2, 2, 2], c.LayersPerBlock);
        Assert.Equal([1, 1, 1, 1], c.TransformerLayersPerBlock);
        Assert.Equal(UNetConfig.StableDiffusion15.DownBlockTypes, c.DownBlockTypes);
        Assert.Equal(UNetConfig.StableDiffusion15.UpBlockTypes, c.UpBlockTypes);
    }

    [Fact]
    public void StableDiffusion15_HasTheReleasedArchitecture()
    {
        var c = UNetConfig.StableDiffusion15;
        c.Validate();
        Assert.Equal([320, 640, 1280, 1280], c.BlockOutChannels);
        Assert.Equal([768, 768, 768, 768], c.CrossAttentionDim);
        Assert.Equal([8, 8, 8, 8], c.NumAttentionHeads);
        Assert.Equal(64, c.SampleSize);
        Assert.Equal(1280, c.EffectiveTimeEmbeddingDim);
        Assert.Equal(
            [UNetConfig.CrossAttnDownBlock2D, UNetConfig.CrossAttnDownBlock2D, UNetConfig.CrossAttnDownBlock2D, UNetConfig.DownBlock2D],
            c.DownBlockTypes);
        Assert.Equal([UNetConfig.UpBlock2D, UNetConfig.CrossAttnUpBlock2D, UNetConfig.CrossAttnUpBlock2D, UNetConfig.CrossAttnUpBlock2D], c.UpBlockTypes);
    }

    [Fact]
    public void Parse_UnknownDownBlockType_NamesFieldAndValue()
    {
        var json = FixtureConfigJson();
        json["down_block_types"] = new JsonArray("CrossAttnDownBlock2D", "SimpleCrossAttnDownBlock2D");
        var e = Assert.Throws<ModelLoadException>(() => UNetConfig.Parse(json.ToJsonString()));
        Assert.Contains("down_block_types", e.Message);
        Assert.Contains("SimpleCrossAttnDownBlock2D", e.Message);
    }

    [Fact]
    public void Parse_UnsupportedMidBlockType_NamesFieldAndValue()
    {
        var json = FixtureConfigJson();
        json["mid_block_type"] = "UNetMidBlock2DSimpleCrossAttn";
        var e = Assert.Throws<ModelLoadException>(() => UNetConfig.Parse(json.ToJsonString()));
        Assert.Contains("mid_block_type", e.Message);
        Assert.Contains("UNetMidBlock2DSimpleCrossAttn", e.Message);
    }

    [Theory]
    [InlineData("class_embed_type", "\"timestep\"")]
    [InlineData("addition_embed_type", "\"text_time\"")]
    [InlineData("resnet_time_scale_shift", "\"scale_shift\"")]
    [InlineData("only_cross_attention", "true")]
    [InlineData("dual_cross_attention", "true")]
    [InlineData("act_fn", "\"gelu\"")]
    [InlineData("time_embedding_type", "\"fourier\"")]
    [InlineData("transformer_layers_per_block", "[[1, 2], [1, 2]]")]
    [InlineData("block_out_channels", "[32, 64, 128]")]
    [InlineData("layers_per_block", "\"two\"")]
    public void Parse_UnsupportedValue_NamesField(string field, string value)
    {
        var json = FixtureConfigJson();
        json[field] = JsonNode.Parse(value);
        var e = Assert.Throws<ModelLoadException>(() => UNetConfig.Parse(json.ToJsonString()));
        Assert.Contains(field, e.Message);
    }

    [Fact]
    public void Load_HandBuiltConfigWithUnknownUpBlock_Throws()
    {
        var config = FixtureConfig() with { UpBlockTypes = ["UpBlock2D", "AttnUpBlock2D"] };
        using var weights = SafetensorsFile.Open(Fixtures.Path("unet", "diffusion_pytorch_model.safetensors"));
        var e = Assert.Throws<ModelLoadException>(
            () => UNet2DConditionModel.Load(new ModelContext(StateDict.FromFile("unet", weights), Device.Cpu, DType.Float32), config));
        Assert.Contains("AttnUpBlock2D", e.Message);
    }

    [Fact]
    public void Load_WrongShapedWeight_NamesTensorAndShapes()
    {
        const string name = "down_blocks.0.resnets.1.conv1.weight";
        var path = CopyOfFixtureWeights(name, t => Torch.Torch.Zeros([32, 32, 1, 1]));
        using var file = SafetensorsFile.Open(path);
        var e = Assert.Throws<ModelLoadException>(
            () => UNet2DConditionModel.Load(new ModelContext(StateDict.FromFile("unet", file), Device.Cpu, DType.Float32), FixtureConfig()));
        Assert.Contains(name, e.Message);
        Assert.Contains("[32, 32, 1, 1]", e.Message);
        Assert.Contains("[32, 32, 3, 3]", e.Message);
    }

    [Fact]
    public void Load_MissingWeight_NamesTensor()
    {
        const string name = "mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight";
        var path = CopyOfFixtureWeights(name, null);
        using var file = SafetensorsFile.Open(path);
        var e = Assert.Throws<ModelLoadException>(
            () => UNet2DConditionModel.Load(new ModelContext(StateDict.FromFile("unet", file), Device.Cpu, DType.Float32), FixtureConfig()));
        Assert.Contains("missing", e.Message);
        Assert.Contains(name, e.Message);
    }

    /// <summary>Writes the fixture's UNet weights to a temp file with <paramref name="name"/> replaced (or dropped when null).</summary>
    private string CopyOfFixtureWeights(string name, Func<Tensor, Tensor>? replace)
    {
        using var scope = TensorScope.Enter();
        using var source = SafetensorsFile.Open(Fixtures.Path("unet", "diffusion_pytorch_model.safetensors"));
        var tensors = new List<KeyValuePair<string, Tensor>>();
        foreach (var n in source.Names)
        {
            var t = source.Load(n);
            if (n == name)
            {
                if (replace is null) continue;
                t = replace(t);
            }

            tensors.Add(new(n, t));
        }

        var path = Path.Combine(tempDir, "unet.safetensors");
        SafetensorsWriter.Write(path, tensors);
        return path;
    }
}
