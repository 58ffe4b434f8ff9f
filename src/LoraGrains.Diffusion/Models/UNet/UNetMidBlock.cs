using LoraGrains.Diffusion.Models.Blocks;
using LoraGrains.Diffusion.Models.Layers;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.UNet;

/// <summary>diffusers' UNetMidBlock2DCrossAttn with one layer: resnet, Transformer2DModel, resnet.</summary>
internal sealed class UNetMidBlock : IAdaptableModel, IDisposable
{
    private readonly ResnetBlock2D first;
    private readonly Transformer2DModel attention;
    private readonly ResnetBlock2D second;

    public UNetMidBlock(ModelContext context, UNetConfig config, long tembChannels)
    {
        var last = config.BlockOutChannels.Count - 1;
        long channels = config.BlockOutChannels[last];
        first = new ResnetBlock2D(context, "mid_block.resnets.0", channels, channels, config.NormNumGroups, config.NormEps, tembChannels,
            config.MidBlockScaleFactor);
        attention = new Transformer2DModel(context, "mid_block.attentions.0", channels, config.NumAttentionHeads[last],
            config.TransformerLayersPerBlock[last], config.CrossAttentionDim[last], config.NormNumGroups, config.UseLinearProjection,
            config.UpcastAttention);
        second = new ResnetBlock2D(context, "mid_block.resnets.1", channels, channels, config.NormNumGroups, config.NormEps, tembChannels,
            config.MidBlockScaleFactor);
        AdaptableLayers = AdaptableLayerIndex.Create([first, attention, second]);
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, IAdaptableLayer> AdaptableLayers { get; }

    /// <summary>Applies the block.</summary>
    public Tensor Forward(Tensor x, Tensor temb, Tensor context)
    {
        using var scope = TensorScope.Enter();
        var h = first.Forward(x, temb);
        h = h.ReplacedBy(attention.Forward(h, context));
        return scope.MoveToOuter(h.ReplacedBy(second.Forward(h, temb)));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        first.Dispose();
        attention.Dispose();
        second.Dispose();
    }
}
