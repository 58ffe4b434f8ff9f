using LoraGrains.Diffusion.Models.Layers;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.Vae;

/// <summary>
/// diffusers' VAE <c>Encoder</c> (double_z): <c>conv_in</c>, down blocks, mid block, <c>conv_norm_out</c>, SiLU,
/// <c>conv_out</c> to 2 × latent channels (mean and log-variance moments, before <c>quant_conv</c>).
/// </summary>
public sealed class VaeEncoder : IAdaptableModel, IDisposable
{
    /// <summary>Loads the encoder under module path <paramref name="name"/> (normally <c>encoder</c>).</summary>
    public VaeEncoder(ModelContext context, string name, VaeConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var channels = config.BlockOutChannels;
        ConvIn = new Conv2d(context, $"{name}.conv_in", config.InChannels, channels[0], 3, padding: 1);
        var blocks = new DownEncoderBlock2D[channels.Count];
        long outCh = channels[0];
        for (var i = 0; i < channels.Count; i++)
        {
            var inCh = outCh;
            outCh = channels[i];
            blocks[i] = new DownEncoderBlock2D(
                context, $"{name}.down_blocks.{i}", inCh, outCh, config.LayersPerBlock, config.NormNumGroups, config.NormEps,
                addDownsample: i != channels.Count - 1);
        }

        DownBlocks = blocks;
        MidBlock = new VaeMidBlock(context, $"{name}.mid_block", channels[^1], config.NormNumGroups, config.NormEps, config.MidBlockAddAttention);
        ConvNormOut = new GroupNorm(context, $"{name}.conv_norm_out", config.NormNumGroups, channels[^1], config.NormEps);
        ConvOut = new Conv2d(context, $"{name}.conv_out", channels[^1], 2L * config.LatentChannels, 3, padding: 1);
        AdaptableLayers = AdaptableLayerIndex.Create([.. DownBlocks, MidBlock], ConvIn, ConvOut);
    }

    /// <summary>Input convolution.</summary>
    public Conv2d ConvIn { get; }

    /// <summary>Down blocks, highest resolution first.</summary>
    public IReadOnlyList<DownEncoderBlock2D> DownBlocks { get; }

    /// <summary>Mid block.</summary>
    public VaeMidBlock MidBlock { get; }

    /// <summary>Output normalisation.</summary>
    public GroupNorm ConvNormOut { get; }

    /// <summary>Output convolution.</summary>
    public Conv2d ConvOut { get; }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, IAdaptableLayer> AdaptableLayers { get; }

    /// <summary>Maps an image [N, in, H, W] to moments [N, 2·latent, H/f, W/f].</summary>
    public Tensor Forward(Tensor x)
    {
        using var scope = TensorScope.Enter();
        var h = ConvIn.Forward(x);
        foreach (var b in DownBlocks) h = h.ReplacedBy(b.Forward(h));
        h = h.ReplacedBy(MidBlock.Forward(h));
        h = h.ReplacedBy(ConvNormOut.Forward(h).SiluInPlace());
        return scope.MoveToOuter(h.ReplacedBy(ConvOut.Forward(h)));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        ConvIn.Dispose();
        foreach (var b in DownBlocks) b.Dispose();
        MidBlock.Dispose();
        ConvNormOut.Dispose();
        ConvOut.Dispose();
    }
}
