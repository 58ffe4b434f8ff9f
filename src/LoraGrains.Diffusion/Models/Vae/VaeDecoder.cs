using LoraGrains.Diffusion.Models.Layers;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.Vae;

/// <summary>
/// diffusers' VAE <c>Decoder</c>: <c>conv_in</c>, mid block, up blocks (channels in reverse order,
/// layers_per_block + 1 resnets each), <c>conv_norm_out</c>, SiLU, <c>conv_out</c>.
/// </summary>
public sealed class VaeDecoder : IAdaptableModel, IDisposable
{
    /// <summary>Loads the decoder under module path <paramref name="name"/> (normally <c>decoder</c>).</summary>
    public VaeDecoder(ModelContext context, string name, VaeConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var channels = config.BlockOutChannels;
        ConvIn = new Conv2d(context, $"{name}.conv_in", config.LatentChannels, channels[^1], 3, padding: 1);
        MidBlock = new VaeMidBlock(context, $"{name}.mid_block", channels[^1], config.NormNumGroups, config.NormEps, config.MidBlockAddAttention);
        var blocks = new UpDecoderBlock2D[channels.Count];
        long outCh = channels[^1];
        for (var i = 0; i < channels.Count; i++)
        {
            var inCh = outCh;
            outCh = channels[channels.Count - 1 - i];
            blocks[i] = new UpDecoderBlock2D(
                context, $"{name}.up_blocks.{i}", inCh, outCh, config.LayersPerBlock + 1, config.NormNumGroups, config.NormEps,
                addUpsample: i != channels.Count - 1);
        }

        UpBlocks = blocks;
        ConvNormOut = new GroupNorm(context, $"{name}.conv_norm_out", config.NormNumGroups, channels[0], config.NormEps);
        ConvOut = new Conv2d(context, $"{name}.conv_out", channels[0], config.OutChannels, 3, padding: 1);
        AdaptableLayers = AdaptableLayerIndex.Create([MidBlock, .. UpBlocks], ConvIn, ConvOut);
    }

    /// <summary>Input convolution.</summary>
    public Conv2d ConvIn { get; }

    /// <summary>Mid block.</summary>
    public VaeMidBlock MidBlock { get; }

    /// <summary>Up blocks, lowest resolution first.</summary>
    public IReadOnlyList<UpDecoderBlock2D> UpBlocks { get; }

    /// <summary>Output normalisation.</summary>
    public GroupNorm ConvNormOut { get; }

    /// <summary>Output convolution.</summary>
    public Conv2d ConvOut { get; }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, IAdaptableLayer> AdaptableLayers { get; }

    /// <summary>Maps latents [N, latent, h, w] (after <c>post_quant_conv</c>) to an image [N, out, h·f, w·f].</summary>
    public Tensor Forward(Tensor z)
    {
        using var scope = TensorScope.Enter();
        var h = ConvIn.Forward(z);
        h = h.ReplacedBy(MidBlock.Forward(h));
        foreach (var b in UpBlocks) h = h.ReplacedBy(b.Forward(h));
        h = h.ReplacedBy(ConvNormOut.Forward(h).SiluInPlace());
        return scope.MoveToOuter(h.ReplacedBy(ConvOut.Forward(h)));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        ConvIn.Dispose();
        MidBlock.Dispose();
        foreach (var b in UpBlocks) b.Dispose();
        ConvNormOut.Dispose();
        ConvOut.Dispose();
    }
}
