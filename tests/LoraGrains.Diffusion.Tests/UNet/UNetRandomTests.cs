using System.Diagnostics;
using LoraGrains.Diffusion.Models.UNet;
using LoraGrains.Torch;
using Xunit.Abstractions;

namespace LoraGrains.Diffusion.Tests.UNet;

/// <summary>Models with random weights (UNet2DConditionModel.CreateRandom), as benchmarks build them.</summary>
public sealed class UNetRandomTests(ITestOutputHelper output)
{
    [Fact]
    public void CreateRandom_TinyConfig_IsDeterministic_AndFinite()
    {
        using var scope = TensorScope.Enter();
        var config = UNetConfig.FromFile(Fixtures.Path("unet", "config.json"));
        using var a = UNet2DConditionModel.CreateRandom(config, Device.Cpu, DType.Float32, seed: 7);
        using var b = UNet2DConditionModel.CreateRandom(config, Device.Cpu, DType.Float32, seed: 7);
        using var c = UNet2DConditionModel.CreateRandom(config, Device.Cpu, DType.Float32, seed: 8);
        Assert.Empty(a.UnusedKeys);

        // No torch Generator: lg_randn locks the generator mutex that at::randn locks again, a deadlock on libtorch 1.13.
        var latents = Torch.Torch.Randn([2, 4, 16, 16]);
        var context = Torch.Torch.Randn([2, 77, 32]);
        var t = Torch.Torch.Scalar(500, DType.Int64);
        var ya = a.Forward(latents, t, context);
        var yb = b.Forward(latents, t, context);
        var yc = c.Forward(latents, t, context);
        Assert.Equal([2L, 4, 16, 16], ya.Shape);
        Assert.True(ya.ContentEquals(yb));
        Assert.False(ya.ContentEquals(yc));
        Assert.Equal(1.0, ya.IsFinite().To(DType.Float32).Mean().Item());
        Assert.InRange(ya.Std().Item(), 0.01, 100);
    }

    [Fact]
    public void CreateRandom_VariantConfig_RunsOneForward()
    {
        // The paths the fixture does not take: linear projections, per-block heads, deeper transformers,
        // different layer counts per block, no mid block, three levels.
        var config = new UNetConfig
        {
            BlockOutChannels = [32, 64, 64],
            DownBlockTypes = [UNetConfig.CrossAttnDownBlock2D, UNetConfig.CrossAttnDownBlock2D, UNetConfig.DownBlock2D],
            UpBlockTypes = [UNetConfig.UpBlock2D, UNetConfig.CrossAttnUpBlock2D, UNetConfig.CrossAttnUpBlock2D],
            MidBlockType = null,
            LayersPerBlock = [1, 2, 1],
            NumAttentionHeads = [2, 4, 4],
            CrossAttentionDim = [24, 24, 24],
            TransformerLayersPerBlock = [2, 1, 1],
            UseLinearProjection = true,
            UpcastAttention = true,
            NormNumGroups = 16,
            TimeEmbeddingDim = 96,
        };
        using var model = UNet2DConditionModel.CreateRandom(config, Device.Cpu, DType.Float32, seed: 3);
        Assert.Contains("down_blocks.0.attentions.0.transformer_blocks.1.attn2.to_k", model.AdaptableLayers.Keys);
        Assert.DoesNotContain(model.AdaptableLayers.Keys, k => k.StartsWith("mid_block", StringComparison.Ordinal));
        using var scope = TensorScope.Enter();
        var noise = model.Forward(Torch.Torch.Randn([2, 4, 12, 12]), Torch.Torch.Full([2], 10.5), Torch.Torch.Randn([2, 5, 24]));
        Assert.Equal([2L, 4, 12, 12], noise.Shape);
        Assert.Equal(1.0, noise.IsFinite().To(DType.Float32).Mean().Item());
    }

    [Fact]
    public void CreateRandom_StableDiffusion15_RunsOneForward()
    {
        var timer = Stopwatch.StartNew();
        using var model = UNet2DConditionModel.CreateRandom(UNetConfig.StableDiffusion15, Device.Cpu, DType.Float32, seed: 1);
        var built = timer.Elapsed;
        using var scope = TensorScope.Enter();
        Assert.Equal(282, model.AdaptableLayers.Count); // 16 transformers × 12, 22 resnets × 3 + 14 shortcuts, 6 resamplers, 4 others
        timer.Restart();
        var noise = model.Forward(Torch.Torch.Randn([1, 4, 8, 8]), Torch.Torch.Scalar(999, DType.Int64), Torch.Torch.Randn([1, 77, 768]));
        output.WriteLine($"SD 1.5 random: built in {built.TotalSeconds:F1} s, forward (1,4,8,8) in {timer.Elapsed.TotalSeconds:F1} s");
        Assert.Equal([1L, 4, 8, 8], noise.Shape);
        Assert.Equal(1.0, noise.IsFinite().To(DType.Float32).Mean().Item());
    }
}
