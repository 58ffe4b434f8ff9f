using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.UNet;

/// <summary>
/// diffusers' CrossAttnDownBlock2D (resnets each followed by a Transformer2DModel) or DownBlock2D (resnets only),
/// with an optional stride-2 downsampler. Every resnet/transformer output and the downsampled output are skip
/// connections for the up path.
/// </summary>
internal sealed class UNetDownBlock
{
    private readonly UNetResnetBlock[] resnets;
    private readonly Transformer2DModel[]? attentions;
    private readonly UNetDownsample? downsampler;

    public UNetDownBlock(UNetLayers layers, UNetConfig config, int index, long inChannels, long tembChannels)
    {
        var name = $"down_blocks.{index}";
        long outChannels = config.BlockOutChannels[index];
        var count = config.LayersPerBlock[index];
        var crossAttention = config.DownBlockTypes[index] == UNetConfig.CrossAttnDownBlock2D;
        resnets = new UNetResnetBlock[count];
        attentions = crossAttention ? new Transformer2DModel[count] : null;
        for (var i = 0; i < count; i++)
        {
            resnets[i] = new UNetResnetBlock(layers, $"{name}.resnets.{i}", i == 0 ? inChannels : outChannels, outChannels, tembChannels,
                config.NormNumGroups, config.NormEps);
            if (attentions is not null)
            {
                attentions[i] = new Transformer2DModel(layers, $"{name}.attentions.{i}", outChannels, config.NumAttentionHeads[index],
                    config.TransformerLayersPerBlock[index], config.CrossAttentionDim[index], config.NormNumGroups, config.UseLinearProjection,
                    config.UpcastAttention);
            }
        }

        if (index < config.DownBlockTypes.Count - 1)
            downsampler = new UNetDownsample(layers, $"{name}.downsamplers.0", outChannels, config.DownsamplePadding);
    }

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
            if (attentions is not null)
            {
                var a = attentions[i].Forward(r, context);
                r.Dispose();
                r = a;
            }

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
}
