using LoraGrains.Diffusion.Models;
using LoraGrains.Diffusion.Models.Blocks;
using LoraGrains.Torch;
using LoraGrains.Torch.Safetensors;

namespace LoraGrains.Diffusion.Tests.Models;

/// <summary>The shared blocks in their UNet configuration (time embedding, padding 1, explicit upsample size), on the sd-tiny UNet weights.</summary>
public sealed class BlocksTests : IDisposable
{
    private readonly SafetensorsFile unetFile = SafetensorsFile.Open(Fixtures.Path("unet", "diffusion_pytorch_model.safetensors"));
    private readonly ModelContext context;

    public BlocksTests()
    {
        context = new ModelContext(StateDict.FromFile("unet", unetFile), Device.Cpu, DType.Float32);
    }

    public void Dispose()
    {
        unetFile.Dispose();
    }

    private Tensor W(string name) => unetFile.Load(name);

    [Fact]
    public void ResnetBlock2D_with_a_time_embedding_follows_diffusers()
    {
        using var scope = TensorScope.Enter();
        using var block = new ResnetBlock2D(context, "down_blocks.1.resnets.0", 32, 64, groups: 32, eps: 1e-5, tembChannels: 128);
        var x = Torch.Torch.Randn([2, 32, 8, 8]);
        var temb = Torch.Torch.Randn([2, 128]);

        const string p = "down_blocks.1.resnets.0";
        var h = Functional.GroupNorm(x, 32, W($"{p}.norm1.weight"), W($"{p}.norm1.bias"), 1e-5).Silu();
        h = Functional.Conv2d(h, W($"{p}.conv1.weight"), W($"{p}.conv1.bias"), padding: 1);
        h += Functional.Linear(temb.Silu(), W($"{p}.time_emb_proj.weight"), W($"{p}.time_emb_proj.bias")).Reshape(2, 64, 1, 1);
        h = Functional.GroupNorm(h, 32, W($"{p}.norm2.weight"), W($"{p}.norm2.bias"), 1e-5).Silu();
        h = Functional.Conv2d(h, W($"{p}.conv2.weight"), W($"{p}.conv2.bias"), padding: 1);
        var expected = Functional.Conv2d(x, W($"{p}.conv_shortcut.weight"), W($"{p}.conv_shortcut.bias")) + h;

        TensorAssert.Close(block.Forward(x, temb), expected, 1e-6, "resnet");
        Assert.Equal(
            [$"{p}.conv1", $"{p}.time_emb_proj", $"{p}.conv2", $"{p}.conv_shortcut"],
            block.AdaptableLayers.Keys);
        Assert.Throws<ArgumentException>(() => block.Forward(x));
    }

    [Fact]
    public void ResnetBlock2D_without_time_embedding_rejects_one()
    {
        using var scope = TensorScope.Enter();
        using var block = new ResnetBlock2D(context, "up_blocks.0.resnets.0", 128, 64, groups: 32, eps: 1e-5);
        Assert.Null(block.TimeEmbProj);
        var e = Assert.Throws<ArgumentException>(() => block.Forward(Torch.Torch.Zeros([1, 128, 4, 4]), Torch.Torch.Zeros([1, 128])));
        Assert.Contains("up_blocks.0.resnets.0", e.Message);
    }

    [Fact]
    public void Downsample2D_with_padding_1_is_a_symmetric_stride_2_conv()
    {
        using var scope = TensorScope.Enter();
        using var down = new Downsample2D(context, "down_blocks.0.downsamplers.0", 32, padding: 1);
        var x = Torch.Torch.Randn([1, 32, 9, 8]);
        var expected = Functional.Conv2d(x, W("down_blocks.0.downsamplers.0.conv.weight"), W("down_blocks.0.downsamplers.0.conv.bias"), stride: 2, padding: 1);
        var y = down.Forward(x);
        Assert.Equal([1, 32, 5, 4], y.Shape);
        TensorAssert.Close(y, expected, 0, "downsample");
        Assert.Equal(["down_blocks.0.downsamplers.0.conv"], down.AdaptableLayers.Keys);
    }

    [Fact]
    public void Downsample2D_with_padding_0_pads_right_and_bottom_first()
    {
        using var scope = TensorScope.Enter();
        using var down = new Downsample2D(context, "down_blocks.0.downsamplers.0", 32, padding: 0);
        var x = Torch.Torch.Randn([1, 32, 8, 8]);
        var padded = Functional.Pad(x, [0, 1, 0, 1]);
        var expected = Functional.Conv2d(padded, W("down_blocks.0.downsamplers.0.conv.weight"), W("down_blocks.0.downsamplers.0.conv.bias"), stride: 2);
        var y = down.Forward(x);
        Assert.Equal([1, 32, 4, 4], y.Shape);
        TensorAssert.Close(y, expected, 0, "downsample");
    }

    [Fact]
    public void Upsample2D_doubles_or_meets_an_explicit_size()
    {
        using var scope = TensorScope.Enter();
        using var up = new Upsample2D(context, "up_blocks.0.upsamplers.0", 64);
        var x = Torch.Torch.Randn([1, 64, 3, 4]);
        var expected = Functional.Conv2d(
            Functional.InterpolateNearest(x, 2), W("up_blocks.0.upsamplers.0.conv.weight"), W("up_blocks.0.upsamplers.0.conv.bias"), padding: 1);
        TensorAssert.Close(up.Forward(x), expected, 0, "upsample");
        Assert.Equal([1, 64, 5, 7], up.Forward(x, (5, 7)).Shape);
    }

    [Fact]
    public void Upsample2D_in_bfloat16_resizes_through_float32_exactly()
    {
        using var scope = TensorScope.Enter();
        using var up = new Upsample2D(context with { DType = DType.BFloat16 }, "up_blocks.0.upsamplers.0", 64);
        var x = Torch.Torch.Randn([1, 64, 3, 4]).To(DType.BFloat16);
        // Nearest only copies values, so resizing a float32 copy and narrowing back is exact.
        var resized = Functional.InterpolateNearest(x.To(DType.Float32), 2).To(DType.BFloat16);
        var y = up.Forward(x);
        Assert.Equal(DType.BFloat16, y.DType);
        TensorAssert.Close(y, up.Conv.Forward(resized), 0, "upsample bf16");
    }
}
