using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.UNet;

/// <summary>diffusers' UNetMidBlock2DCrossAttn with one layer: resnet, Transformer2DModel, resnet.</summary>
internal sealed class UNetMidBlock
{
    private readonly UNetResnetBlock first;
    private readonly Transformer2DModel attention;
    private readonly UNetResnetBlock second;

    public UNetMidBlock(UNetLayers layers, UNetConfig config, long tembChannels)
    {
        var last = config.BlockOutChannels.Count - 1;
        long channels = config.BlockOutChannels[last];
        first = new UNetResnetBlock(layers, "mid_block.resnets.0", channels, channels, tembChannels, config.NormNumGroups, config.NormEps,
            config.MidBlockScaleFactor);
        attention = new Transformer2DModel(layers, "mid_block.attentions.0", channels, config.NumAttentionHeads[last],
            config.TransformerLayersPerBlock[last], config.CrossAttentionDim[last], config.NormNumGroups, config.UseLinearProjection,
            config.UpcastAttention);
        second = new UNetResnetBlock(layers, "mid_block.resnets.1", channels, channels, tembChannels, config.NormNumGroups, config.NormEps,
            config.MidBlockScaleFactor);
    }

    /// <summary>Applies the block.</summary>
    public Tensor Forward(Tensor x, Tensor temb, Tensor context)
    {
        using var scope = TensorScope.Enter();
        var h = first.Forward(x, temb);
        var a = attention.Forward(h, context);
        h.Dispose();
        h = second.Forward(a, temb);
        return scope.MoveToOuter(h);
    }
}
