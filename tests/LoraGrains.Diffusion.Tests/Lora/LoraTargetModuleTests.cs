using LoraGrains.Diffusion.Lora;
using LoraGrains.Diffusion.Models;
using LoraGrains.Torch.Safetensors;

namespace LoraGrains.Diffusion.Tests.Lora;

public sealed class LoraTargetModuleTests
{
    private static LoraTargetModule Target(string component, string path) =>
        SdTinyLora.Targets.Single(t => t.Component == component && t.Path == path);

    [Fact]
    public void Every_linear_and_conv_of_the_weight_files_is_a_target_and_embeddings_are_not()
    {
        var unet = SdTinyLora.Targets.Where(t => t.Component == LoraComponent.Unet).ToList();
        var te = SdTinyLora.Targets.Where(t => t.Component == LoraComponent.TextEncoder).ToList();

        // sd-tiny UNet: 74 Linear (attention, ff, time_emb_proj, time_embedding) and 47 Conv2d weights.
        Assert.Equal(74, unet.Count(t => t.Kind == LoraLayerKind.Linear));
        Assert.Equal(47, unet.Count(t => t.Kind == LoraLayerKind.Conv2d));
        Assert.Equal(24, te.Count);
        Assert.All(te, t => Assert.Equal(LoraLayerKind.Linear, t.Kind));
        Assert.DoesNotContain(te, t => t.Path.Contains("embedding", StringComparison.Ordinal));

        Assert.Equal(new LoraTargetModule(LoraComponent.TextEncoder, "text_model.encoder.layers.0.mlp.fc2", LoraLayerKind.Linear, 37, 32, 1, 1, 0),
            Target(LoraComponent.TextEncoder, "text_model.encoder.layers.0.mlp.fc2"));
        Assert.Equal(new LoraTargetModule(LoraComponent.Unet, "mid_block.attentions.0.transformer_blocks.0.attn2.to_k", LoraLayerKind.Linear, 32, 64, 1, 1, 0),
            Target(LoraComponent.Unet, "mid_block.attentions.0.transformer_blocks.0.attn2.to_k"));
    }

    [Theory]
    [InlineData("conv_in", 4, 32, 3, 1, 1)]
    [InlineData("conv_out", 32, 4, 3, 1, 1)]
    [InlineData("down_blocks.0.downsamplers.0.conv", 32, 32, 3, 2, 1)]
    [InlineData("up_blocks.0.upsamplers.0.conv", 64, 64, 3, 1, 1)]
    [InlineData("down_blocks.1.resnets.0.conv_shortcut", 32, 64, 1, 1, 0)]
    [InlineData("mid_block.attentions.0.proj_in", 64, 64, 1, 1, 0)]
    public void Conv_geometry_follows_diffusers_conventions(string path, long inCh, long outCh, int k, int stride, int padding)
    {
        Assert.Equal(new LoraTargetModule(LoraComponent.Unet, path, LoraLayerKind.Conv2d, inCh, outCh, k, stride, padding), Target(LoraComponent.Unet, path));
    }

    [Fact]
    public void Conv_geometry_equals_the_modules_peft_attached_the_locon_file_to()
    {
        var checkedConvs = 0;
        foreach (var m in SdTinyLora.KeyMap("lora_b_locon_kohya").GetProperty("modules").EnumerateArray())
        {
            if (!m.TryGetProperty("down_conv", out var conv)) continue;
            var qualified = m.GetProperty("target_module").GetString()!;
            var t = SdTinyLora.Targets.Single(t => t.QualifiedName == qualified);
            Assert.Equal(conv.GetProperty("kernel")[0].GetInt32(), t.KernelSize);
            Assert.Equal(conv.GetProperty("stride")[0].GetInt32(), t.Stride);
            Assert.Equal(conv.GetProperty("padding")[0].GetInt32(), t.Padding);
            checkedConvs++;
        }

        Assert.Equal(45, checkedConvs);
    }

    [Fact]
    public void State_dict_and_file_give_the_same_list()
    {
        using var file = SafetensorsFile.Open(SdTinyLora.WeightsPath(LoraComponent.Unet));
        var fromFile = LoraTargetModule.FromWeights(LoraComponent.Unet, file);
        var fromStateDict = LoraTargetModule.FromWeights(LoraComponent.Unet, StateDict.FromFile(LoraComponent.Unet, file));
        Assert.Equal(fromFile, fromStateDict);
    }

    [Fact]
    public void Vae_encoder_downsamplers_have_no_padding_because_diffusers_pads_explicitly()
    {
        using var file = SafetensorsFile.Open(Fixtures.Path("vae", "diffusion_pytorch_model.safetensors"));
        var vae = LoraTargetModule.FromWeights("vae", file);
        var down = vae.Single(t => t.Path == "encoder.down_blocks.0.downsamplers.0.conv");
        Assert.Equal((2, 0), (down.Stride, down.Padding));
        var up = vae.Single(t => t.Path == "decoder.up_blocks.0.upsamplers.0.conv");
        Assert.Equal((1, 1), (up.Stride, up.Padding));
    }
}
