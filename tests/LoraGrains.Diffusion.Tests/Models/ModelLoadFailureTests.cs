using LoraGrains.Diffusion.Models;
using LoraGrains.Diffusion.Models.TextEncoder;
using LoraGrains.Diffusion.Models.Vae;
using LoraGrains.Torch;
using LoraGrains.Torch.Safetensors;

namespace LoraGrains.Diffusion.Tests.Models;

public sealed class ModelLoadFailureTests
{
    private static string VaeWeights => Fixtures.Path("vae", "diffusion_pytorch_model.safetensors");

    private static VaeConfig VaeConfigOfFixture => VaeConfig.FromFile(Fixtures.Path("vae", "config.json"));

    private static ClipTextConfig ClipConfigOfFixture => ClipTextConfig.FromFile(Fixtures.Path("text_encoder", "config.json"));

    [Fact]
    public void A_weight_with_the_wrong_shape_names_the_tensor_and_both_shapes()
    {
        const string victim = "encoder.mid_block.attentions.0.to_q.weight";
        var dir = Directory.CreateTempSubdirectory("lg-vae-");
        try
        {
            var path = Path.Combine(dir.FullName, "vae.safetensors");
            using (var scope = TensorScope.Enter())
            using (var source = SafetensorsFile.Open(VaeWeights))
            {
                // The LDM layout of this weight: a 1×1 conv [64, 64, 1, 1] where diffusers has a linear [64, 64].
                var tensors = source.Names.Select(n =>
                {
                    var t = source.Load(n);
                    return KeyValuePair.Create(n, n == victim ? t.Reshape(64, 64, 1, 1) : t);
                });
                SafetensorsWriter.Write(path, tensors);
            }

            using var file = SafetensorsFile.Open(path);
            var sd = StateDict.FromFile("vae", file);
            var before = TensorScope.Current?.Count;
            var e = Assert.Throws<ModelLoadException>(() => AutoencoderKL.Load(new ModelContext(sd, Device.Cpu, DType.Float32), VaeConfigOfFixture));
            Assert.Contains(victim, e.Message);
            Assert.Contains("[64, 64, 1, 1]", e.Message);
            Assert.Contains("expected [64, 64]", e.Message);
            Assert.Equal(before, TensorScope.Current?.Count);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void A_missing_tensor_is_named()
    {
        const string missing = "decoder.up_blocks.1.upsamplers.0.conv.bias";
        using var file = SafetensorsFile.Open(VaeWeights);
        var sd = new StateDict("vae");
        foreach (var (name, entry) in file.Entries)
        {
            if (name != missing) sd.Add(name, file, entry);
        }

        var e = Assert.Throws<ModelLoadException>(() => AutoencoderKL.Load(new ModelContext(sd, Device.Cpu, DType.Float32), VaeConfigOfFixture));
        Assert.Contains($"missing tensor '{missing}'", e.Message);
        Assert.Contains("vae", e.Message);
    }

    [Fact]
    public void A_missing_text_encoder_tensor_is_named()
    {
        const string missing = "text_model.encoder.layers.3.mlp.fc2.weight";
        using var file = SafetensorsFile.Open(Fixtures.Path("text_encoder", "model.safetensors"));
        var sd = new StateDict("text_encoder");
        foreach (var (name, entry) in file.Entries)
        {
            if (name != missing) sd.Add(name, file, entry);
        }

        var e = Assert.Throws<ModelLoadException>(() => ClipTextModel.Load(new ModelContext(sd, Device.Cpu, DType.Float32), ClipConfigOfFixture));
        Assert.Contains($"missing tensor '{missing}'", e.Message);
    }

    [Fact]
    public void A_config_that_does_not_match_the_weights_names_the_first_mismatch()
    {
        using var file = SafetensorsFile.Open(Fixtures.Path("text_encoder", "model.safetensors"));
        var sd = StateDict.FromFile("text_encoder", file);
        var config = ClipConfigOfFixture with { IntermediateSize = 64 };
        var e = Assert.Throws<ModelLoadException>(() => ClipTextModel.Load(new ModelContext(sd, Device.Cpu, DType.Float32), config));
        Assert.Contains("text_model.encoder.layers.0.mlp.fc1.weight", e.Message);
    }

    [Fact]
    public void Extra_tensors_are_reported_not_rejected()
    {
        using var teFile = SafetensorsFile.Open(Fixtures.Path("text_encoder", "model.safetensors"));
        using var vaeFile = SafetensorsFile.Open(VaeWeights);
        var sd = StateDict.FromFile("text_encoder", teFile);
        sd.Add("text_model.extra.weight", vaeFile, vaeFile["quant_conv.bias"]);
        using var model = ClipTextModel.Load(new ModelContext(sd, Device.Cpu, DType.Float32), ClipConfigOfFixture);
        Assert.Equal(["text_model.extra.weight"], model.UnusedKeys);
    }

    [Fact]
    public void A_model_loaded_inside_a_scope_outlives_it()
    {
        using var file = SafetensorsFile.Open(Fixtures.Path("text_encoder", "model.safetensors"));
        ClipTextModel model;
        using (TensorScope.Enter())
        {
            model = ClipTextModel.Load(new ModelContext(StateDict.FromFile("text_encoder", file), Device.Cpu, DType.Float32), ClipConfigOfFixture);
        }

        using (model)
        {
            Assert.False(model.TokenEmbedding.IsDisposed);
            Assert.False(model.Layers[3].Mlp.Fc2.Weight.IsDisposed);
            using var scope = TensorScope.Enter();
            Assert.Equal([1, 3, 32], model.Encode(Tensor.FromArray<long>([49406, 320, 49407], 1, 3)).Shape);
        }

        Assert.True(model.TokenEmbedding.IsDisposed);
    }

    [Theory]
    [InlineData("relu")]
    [InlineData("gelu_new")]
    public void An_unknown_activation_is_named(string act)
    {
        var json = File.ReadAllText(Fixtures.Path("text_encoder", "config.json")).Replace("\"quick_gelu\"", $"\"{act}\"", StringComparison.Ordinal);
        var e = Assert.Throws<ModelLoadException>(() => ClipTextConfig.FromJson(json));
        Assert.Contains($"'{act}'", e.Message);
        Assert.Contains("hidden_act", e.Message);
    }

    [Fact]
    public void Gelu_is_accepted()
    {
        var json = File.ReadAllText(Fixtures.Path("text_encoder", "config.json")).Replace("\"quick_gelu\"", "\"gelu\"", StringComparison.Ordinal);
        Assert.Equal(ClipActivation.Gelu, ClipTextConfig.FromJson(json).HiddenAct);
    }

    [Theory]
    [InlineData("\"DownEncoderBlock2D\",\n    \"DownEncoderBlock2D\",\n    \"DownEncoderBlock2D\"", "\"DownEncoderBlock2D\",\n    \"AttnDownEncoderBlock2D\",\n    \"DownEncoderBlock2D\"", "AttnDownEncoderBlock2D")]
    [InlineData("\"UpDecoderBlock2D\",\n    \"UpDecoderBlock2D\",\n    \"UpDecoderBlock2D\"", "\"UpDecoderBlock2D\",\n    \"UpDecoderBlock2D\",\n    \"AttnUpDecoderBlock2D\"", "AttnUpDecoderBlock2D")]
    public void An_unknown_block_type_is_named(string from, string to, string named)
    {
        var original = File.ReadAllText(Fixtures.Path("vae", "config.json"));
        var json = original.Replace(from, to, StringComparison.Ordinal);
        Assert.NotEqual(original, json);
        var e = Assert.Throws<ModelLoadException>(() => VaeConfig.FromJson(json));
        Assert.Contains($"'{named}'", e.Message);
    }

    [Fact]
    public void Block_type_lists_must_match_the_levels()
    {
        var e = Assert.Throws<ModelLoadException>(() => VaeConfig.FromJson("""{"block_out_channels": [32, 64], "down_block_types": ["DownEncoderBlock2D"]}"""));
        Assert.Contains("down_block_types", e.Message);
    }

    [Fact]
    public void A_value_of_the_wrong_kind_names_the_key()
    {
        var e = Assert.Throws<ModelLoadException>(() => ClipTextConfig.FromJson("""{"hidden_size": "32"}""", "te.json"));
        Assert.Contains("te.json", e.Message);
        Assert.Contains("'hidden_size'", e.Message);
        Assert.Throws<ModelLoadException>(() => ClipTextConfig.FromJson("""{"hidden_size": 30, "num_attention_heads": 4}"""));
        Assert.Throws<ModelLoadException>(() => VaeConfig.FromJson("[1, 2]"));
        Assert.Throws<ModelLoadException>(() => VaeConfig.FromJson("{ not json"));
        Assert.Throws<ModelLoadException>(() => VaeConfig.FromFile(Path.Combine(Path.GetTempPath(), "no-such-dir-lg", "config.json")));
    }
}
