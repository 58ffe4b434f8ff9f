using LoraGrains.Diffusion.Lora;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Tests.Lora;

/// <summary>1×1 weights written for the other layer type (a Linear LoRA on a 1×1 conv, or the reverse) are accepted and reshaped.</summary>
public sealed class LoraShapeTests : IDisposable
{
    private const string ProjIn = "lora_unet_down_blocks_0_attentions_0_proj_in";
    private const string ToQ = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q";

    private readonly string dir = Directory.CreateTempSubdirectory("lg-lora-shape-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void Two_dimensional_weights_on_a_1x1_conv_and_four_dimensional_ones_on_a_linear_load_in_the_layers_layout()
    {
        var path = SdTinyLora.Rewrite("lora_b_locon_kohya", Path.Combine(dir, "swapped.safetensors"), tensors =>
        {
            for (var i = 0; i < tensors.Count; i++)
            {
                var (key, t) = tensors[i];
                Tensor? reshaped = key.StartsWith(ProjIn + ".lora_", StringComparison.Ordinal) ? t.Reshape(t.Size(0), t.Size(1))
                    : key.StartsWith(ToQ + ".lora_", StringComparison.Ordinal) ? t.Reshape(t.Size(0), t.Size(1), 1, 1)
                    : null;
                if (reshaped is null) continue;
                tensors[i] = KeyValuePair.Create(key, reshaped);
                t.Dispose();
            }
        });

        using var original = SdTinyLora.Load(SdTinyLora.File("lora_b_locon_kohya"));
        using var swapped = SdTinyLora.Load(path);
        foreach (var (o, s) in original.Modules.Zip(swapped.Modules))
        {
            Assert.Equal(o.Target, s.Target);
            Assert.Equal(o.Down.Shape, s.Down.Shape);
            Assert.True(o.Down.ContentEquals(s.Down), o.Path);
            Assert.True(o.Up.ContentEquals(s.Up), o.Path);
        }
    }

    [Fact]
    public void Module_constructor_rejects_shapes_that_do_not_fit()
    {
        var target = new LoraTargetModule(LoraComponent.Unet, "x", LoraLayerKind.Conv2d, 8, 16, 3, 1, 1);
        using var down = Torch.Torch.Zeros([4, 8, 1, 1]);
        using var up = Torch.Torch.Zeros([16, 4, 1, 1]);
        var e = Assert.Throws<ArgumentException>(() => new LoraModule(target, down, up, 4));
        Assert.Contains("expected [4, 8, 3, 3] / [16, 4, 1, 1]", e.Message, StringComparison.Ordinal);
    }
}
