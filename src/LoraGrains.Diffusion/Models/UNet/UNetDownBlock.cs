using LoraGrains.Diffusion.Models.Blocks;
using LoraGrains.Diffusion.Models.Layers;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.UNet;

/// <summary>
/// diffusers' CrossAttnDownBlock2D (resnets each followed by a Transformer2DModel) or DownBlock2D (resnets only),
/// with an optional stride-2 downsampler. Every resnet/transformer output and the downsampled output are skip
/// connections for the up path.
/// </summary>
internal sealed class UNetDownBlock : IAdaptableModel, IDisposable
{
    private readonly ResnetBlock2D[] resnets;
    private readonly Transformer2DModel[]? attentions;
    private readonly Downsample2D? downsampler;

    public UNetDownBlock(ModelContext context, UNetConfig config, int index, long inChannels, long tembChannels)
    {
        var name = $"down_blocks.{index}";
        long outChannels = config.BlockOutChannels[index];
        var count = config.LayersPerBlock[index];
        var crossAttention = config.DownBlockTypes[index] == UNetConfig.CrossAttnDownBlock2D;
        resnets = new ResnetBlock2D[count];
        attentions = crossAttention ? new Transformer2DModel[count] : null;
        for (var i = 0; i < count; i++)
        {
            resnets[i] = new ResnetBlock2D(context, $"{name}.resnets.{i}", i == 0 ? inChannels : outChannels, outChannels,
                config.NormNumGroups, config.NormEps, tembChannels);
            if (attentions is not null)
            {
                attentions[i] = new Transformer2DModel(context, $"{name}.attentions.{i}", outChannels, config.NumAttentionHeads[index],
                    config.TransformerLayersPerBlock[index], config.CrossAttentionDim[index], config.NormNumGroups, config.UseLinearProjection,
                    config.UpcastAttention);
            }
        }

        if (index < config.DownBlockTypes.Count - 1)
            downsampler = new Downsample2D(context, $"{name}.downsamplers.0", outChannels, padding: config.DownsamplePadding);
        AdaptableLayers = AdaptableLayerIndex.Create([.. resnets, .. attentions ?? [], downsampler]);
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, IAdaptableLayer> AdaptableLayers { get; }

    /// <summary>The number of skip connections this block produces.</summary>
    public int SkipCount => resnets.Length + (downsampler is null ? 0 : 1);

    /// <summary>
    /// Applies the block; appends its skip connections to <paramref name="skips"/> (they outlive this call: the
    /// caller owns them) and returns the last of them, the block's output.
    /// </summary>
    public Tensor Forward(Tensor x, Tensor temb, Tensor context, List<Tensor> skips)
    {
        using var scope = TensorScope.Enter();
        var h = x;
        for (var i = 0; i < resnets.Length; i++)
        {
            var r = resnets[i].Forward(h, temb);
            if (attentions is not null) r = r.ReplacedBy(attentions[i].Forward(r, context));

            skips.Add(scope.MoveToOuter(r));
            h = r;
        }

        if (downsampler is not null)
        {
            h = downsampler.Forward(h);
            skips.Add(scope.MoveToOuter(h));
        }

        return h;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var r in resnets) r.Dispose();
        foreach (var a in attentions ?? []) a.Dispose();
        downsampler?.Dispose();
    }
}
