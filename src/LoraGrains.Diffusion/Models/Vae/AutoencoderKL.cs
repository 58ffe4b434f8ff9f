using LoraGrains.Diffusion.Models.Layers;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.Vae;

/// <summary>
/// diffusers' <c>AutoencoderKL</c> (SD's VAE): <see cref="Encode"/> maps an image in [−1, 1] to a
/// <see cref="LatentDistribution"/>, <see cref="Decode"/> maps latents back to an image. Neither applies
/// <see cref="VaeConfig.ScalingFactor"/>; that is the pipeline's job. Weights are named as in diffusers
/// (<c>encoder.*</c>, <c>quant_conv</c>, <c>post_quant_conv</c>, <c>decoder.*</c>).
/// </summary>
public sealed class AutoencoderKL : IAdaptableModel, IDisposable
{
    private AutoencoderKL(ModelContext context, VaeConfig config)
    {
        Config = config;
        Device = context.Device;
        DType = context.DType;
        Encoder = new VaeEncoder(context, "encoder", config);
        var moments = 2L * config.LatentChannels;
        if (config.UseQuantConv) QuantConv = new Conv2d(context, "quant_conv", moments, moments, 1);
        if (config.UsePostQuantConv) PostQuantConv = new Conv2d(context, "post_quant_conv", config.LatentChannels, config.LatentChannels, 1);
        Decoder = new VaeDecoder(context, "decoder", config);
        AdaptableLayers = AdaptableLayerIndex.Create([Encoder, Decoder], QuantConv, PostQuantConv);
        UnusedKeys = context.Weights.Unused.ToList();
    }

    /// <summary>The architecture.</summary>
    public VaeConfig Config { get; }

    /// <summary>Device of the weights; inputs are moved here.</summary>
    public Device Device { get; }

    /// <summary>Compute dtype of the weights; inputs are converted to it.</summary>
    public DType DType { get; }

    /// <summary>The encoder.</summary>
    public VaeEncoder Encoder { get; }

    /// <summary>1×1 convolution on the encoder's moments, if the config has one.</summary>
    public Conv2d? QuantConv { get; }

    /// <summary>1×1 convolution on the latents before decoding, if the config has one.</summary>
    public Conv2d? PostQuantConv { get; }

    /// <summary>The decoder.</summary>
    public VaeDecoder Decoder { get; }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, IAdaptableLayer> AdaptableLayers { get; }

    /// <summary>
    /// Tensors of the state dict this model did not use, sorted (empty for a clean diffusers VAE). Not an
    /// error: checkpoints carry extras, but a non-empty list is worth reporting.
    /// </summary>
    public IReadOnlyList<string> UnusedKeys { get; }

    /// <summary>
    /// Builds the VAE from <paramref name="context"/>'s weights. On failure nothing stays allocated.
    /// </summary>
    /// <exception cref="ModelLoadException">An invalid config, or a tensor that is missing or has the wrong shape.</exception>
    public static AutoencoderKL Load(ModelContext context, VaeConfig config)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        return context.Build(c => new AutoencoderKL(c, config));
    }

    /// <summary>
    /// Builds the VAE described by <paramref name="config"/> with deterministic random weights, for benchmarks and
    /// tests (initialised as <see cref="UNet.UNet2DConditionModel.CreateRandom"/> does); the same
    /// <paramref name="seed"/> gives the same weights.
    /// </summary>
    public static AutoencoderKL CreateRandom(VaeConfig config, Device device, DType dtype, ulong seed) =>
        Load(new ModelContext(UNet.RandomWeights.Create("vae (random)", seed), device, dtype), config);

    /// <summary>Encodes an image [N, in, H, W] with values in [−1, 1] into the latent distribution [N, latent, H/f, W/f].</summary>
    public LatentDistribution Encode(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        CheckInput(x, Config.InChannels, "x");
        using var scope = TensorScope.Enter();
        var moments = Encoder.Forward(x.To(Device, DType));
        if (QuantConv is not null) moments = QuantConv.Forward(moments);
        var parts = moments.Chunk(2, 1);
        var mean = parts[0].Contiguous();
        var logVar = parts[1].Clamp(LatentDistribution.MinLogVar, LatentDistribution.MaxLogVar);
        var std = (logVar * 0.5).Exp();
        scope.MoveToOuter(mean);
        scope.MoveToOuter(logVar);
        scope.MoveToOuter(std);
        return new LatentDistribution(mean, logVar, std);
    }

    /// <summary>Decodes latents [N, latent, h, w] (already divided by the scaling factor) into an image [N, out, h·f, w·f], roughly in [−1, 1].</summary>
    public Tensor Decode(Tensor z)
    {
        ArgumentNullException.ThrowIfNull(z);
        CheckInput(z, Config.LatentChannels, "z");
        using var scope = TensorScope.Enter();
        var h = z.To(Device, DType);
        if (PostQuantConv is not null) h = PostQuantConv.Forward(h);
        return scope.MoveToOuter(Decoder.Forward(h));
    }

    private static void CheckInput(Tensor t, int channels, string name)
    {
        if (t.Dim != 4 || t.Size(1) != channels)
            throw new ArgumentException($"expected [N, {channels}, H, W], got [{string.Join(", ", t.Shape)}]", name);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Encoder.Dispose();
        QuantConv?.Dispose();
        PostQuantConv?.Dispose();
        Decoder.Dispose();
    }
}
