using LoraGrains.Diffusion.Models.Blocks;
using LoraGrains.Diffusion.Models.Layers;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.UNet;

/// <summary>
/// diffusers' CrossAttnUpBlock2D or UpBlock2D: layers_per_block + 1 resnets, each fed the running state
/// concatenated with the most recent skip connection (and followed by a Transformer2DModel for the
/// cross-attention variant), then an optional nearest ×2 upsampler with a convolution.
/// </summary>
internal sealed class UNetUpBlock : IAdaptableModel, IDisposable
{
    private readonly ResnetBlock2D[] resnets;
    private readonly Transformer2DModel[]? attentions;
    private readonly Upsample2D? upsampler;

    public UNetUpBlock(ModelContext context, UNetConfig config, int index, long tembChannels)
    {
        var name = $"up_blocks.{index}";
        var blocks = config.BlockOutChannels.Count;
        var reversed = blocks - 1 - index; // the down block this one mirrors
        long outChannels = config.BlockOutChannels[reversed];
        long prevOutput = config.BlockOutChannels[Math.Min(reversed + 1, blocks - 1)];
        long inChannels = config.BlockOutChannels[Math.Max(reversed - 1, 0)];
        var count = config.LayersPerBlock[reversed] + 1;
        var crossAttention = config.UpBlockTypes[index] == UNetConfig.CrossAttnUpBlock2D;
        resnets = new ResnetBlock2D[count];
        attentions = crossAttention ? new Transformer2DModel[count] : null;
        for (var i = 0; i < count; i++)
        {
            var skipChannels = i == count - 1 ? inChannels : outChannels;
            var resnetIn = i == 0 ? prevOutput : outChannels;
            resnets[i] = new ResnetBlock2D(context, $"{name}.resnets.{i}", resnetIn + skipChannels, outChannels,
                config.NormNumGroups, config.NormEps, tembChannels);
            if (attentions is not null)
            {
                attentions[i] = new Transformer2DModel(context, $"{name}.attentions.{i}", outChannels, config.NumAttentionHeads[reversed],
                    config.TransformerLayersPerBlock[reversed], config.CrossAttentionDim[reversed], config.NormNumGroups,
                    config.UseLinearProjection, config.UpcastAttention);
            }
        }

        if (index < blocks - 1) upsampler = new Upsample2D(context, $"{name}.upsamplers.0", outChannels);
        AdaptableLayers = AdaptableLayerIndex.Create([.. resnets, .. attentions ?? [], upsampler]);
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, IAdaptableLayer> AdaptableLayers { get; }

    /// <summary>The number of skip connections this block consumes.</summary>
    public int SkipCount => resnets.Length;

    /// <summary>
    /// Applies the block, consuming (removing from the end of <paramref name="skips"/> and freeing) one skip
    /// connection per resnet. <paramref name="x"/> stays the caller's.
    /// </summary>
    public Tensor Forward(Tensor x, Tensor temb, Tensor context, List<Tensor> skips, (long Height, long Width)? upsampleSize)
    {
        using var scope = TensorScope.Enter();
        var h = x;
        for (var i = 0; i < resnets.Length; i++)
        {
            var skip = skips[^1];
            skips.RemoveAt(skips.Count - 1);
            var joined = Torch.Torch.Cat([h, skip], 1);
            skip.Dispose();
            if (!ReferenceEquals(h, x)) h.Dispose();
            h = resnets[i].Forward(joined, temb);
            joined.Dispose();
            if (attentions is not null) h = h.ReplacedBy(attentions[i].Forward(h, context));
        }

        if (upsampler is not null) h = h.ReplacedBy(upsampler.Forward(h, upsampleSize));

        return scope.MoveToOuter(h);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var r in resnets) r.Dispose();
        foreach (var a in attentions ?? []) a.Dispose();
        upsampler?.Dispose();
    }
}
