using LoraGrains.Diffusion.Models.Layers;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.UNet;

/// <summary>
/// diffusers' UNet2DConditionModel for Stable Diffusion 1.x/2.x: predicts the noise in latents at a timestep,
/// conditioned on text embeddings. Layers are named by their diffusers module paths (see
/// <see cref="AdaptableLayers"/>). Attention uses <see cref="Functional.ScaledDotProductAttention"/>; with
/// <see cref="UNetConfig.UpcastAttention"/> in half precision it runs in float32 unless libtorch has the fused
/// kernels (≥ 2.1), which accumulate in float32 themselves — as diffusers' SDPA processor assumes.
/// </summary>
public sealed class UNet2DConditionModel : IAdaptableModel, IDisposable
{
    private readonly TimestepEmbedding timeEmbedding;
    private readonly Conv2d convIn;
    private readonly UNetDownBlock[] downBlocks;
    private readonly UNetMidBlock? midBlock;
    private readonly UNetUpBlock[] upBlocks;
    private readonly GroupNorm convNormOut;
    private readonly Conv2d convOut;
    private readonly int[] contextWidths; // cross_attention_dim of every block that attends to the text

    private UNet2DConditionModel(ModelContext context, UNetConfig config)
    {
        Config = config;
        Device = context.Device;
        DType = context.DType;
        long temb = config.EffectiveTimeEmbeddingDim;
        timeEmbedding = new TimestepEmbedding(context, "time_embedding", config.TimestepProjectionDim, temb);
        convIn = new Conv2d(context, "conv_in", config.InChannels, config.BlockOutChannels[0], config.ConvInKernel, padding: (config.ConvInKernel - 1) / 2);

        var blocks = config.BlockOutChannels.Count;
        downBlocks = new UNetDownBlock[blocks];
        long channels = config.BlockOutChannels[0];
        for (var i = 0; i < blocks; i++)
        {
            downBlocks[i] = new UNetDownBlock(context, config, i, channels, temb);
            channels = config.BlockOutChannels[i];
        }

        if (config.MidBlockType is not null) midBlock = new UNetMidBlock(context, config, temb);
        upBlocks = new UNetUpBlock[blocks];
        for (var i = 0; i < blocks; i++) upBlocks[i] = new UNetUpBlock(context, config, i, temb);

        convNormOut = new GroupNorm(context, "conv_norm_out", config.NormNumGroups, config.BlockOutChannels[0], config.NormEps);
        convOut = new Conv2d(context, "conv_out", config.BlockOutChannels[0], config.OutChannels, config.ConvOutKernel, padding: (config.ConvOutKernel - 1) / 2);
        AdaptableLayers = AdaptableLayerIndex.Create([timeEmbedding, .. downBlocks, midBlock, .. upBlocks], convIn, convOut);
        UnusedKeys = context.Weights.Unused.ToArray();
        contextWidths = Enumerable.Range(0, blocks)
            .Where(i => config.DownBlockTypes[i] == UNetConfig.CrossAttnDownBlock2D || config.UpBlockTypes[blocks - 1 - i] == UNetConfig.CrossAttnUpBlock2D
                || (i == blocks - 1 && midBlock is not null))
            .Select(i => config.CrossAttentionDim[i])
            .Distinct()
            .ToArray();
    }

    /// <summary>The architecture.</summary>
    public UNetConfig Config { get; }

    /// <summary>Device of the weights.</summary>
    public Device Device { get; }

    /// <summary>Compute dtype of the weights; inputs are converted to it.</summary>
    public DType DType { get; }

    /// <summary>Tensors of the state dict the model did not use, sorted (empty for a matching checkpoint).</summary>
    public IReadOnlyList<string> UnusedKeys { get; }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, IAdaptableLayer> AdaptableLayers { get; }

    /// <summary>Builds the model described by <paramref name="config"/> from the weights of <paramref name="context"/>.</summary>
    /// <exception cref="ModelLoadException">
    /// The config is unsupported, or a weight is missing or has another shape; nothing stays allocated.
    /// </exception>
    public static UNet2DConditionModel Load(ModelContext context, UNetConfig config)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        return context.Build(c => new UNet2DConditionModel(c, config));
    }

    /// <summary>
    /// Builds the model described by <paramref name="config"/> with deterministic random weights, for benchmarks
    /// and tests: kernels U(−1/√fan_in, 1/√fan_in) as PyTorch's default init, unit norm scales, zero biases;
    /// the same <paramref name="seed"/> gives the same weights.
    /// </summary>
    public static UNet2DConditionModel CreateRandom(UNetConfig config, Device device, DType dtype, ulong seed) =>
        Load(new ModelContext(RandomWeights.Create("unet (random)", seed), device, dtype), config);

    /// <summary>
    /// Predicts the noise in <paramref name="sample"/> [B, in_channels, H, W] at <paramref name="timestep"/>
    /// (0-d, or 1-d of length 1 or B; int64 or floating point, fractional values allowed) given
    /// <paramref name="encoderHiddenStates"/> [B, S, cross_attention_dim]. Returns [B, out_channels, H, W]
    /// in <see cref="DType"/>.
    /// </summary>
    /// <param name="sample">Noisy latents.</param>
    /// <param name="timestep">Timestep(s).</param>
    /// <param name="encoderHiddenStates">Text embeddings.</param>
    /// <param name="observer">
    /// Called with intermediate outputs as they are computed, by diffusers module name: <c>time_proj</c>,
    /// <c>time_embedding</c>, <c>conv_in</c>, <c>down_blocks.i</c>, <c>mid_block</c>, <c>up_blocks.i</c>.
    /// The tensor is freed after the forward pass, and so is any tensor the callback creates: copy out what
    /// you keep (e.g. with <see cref="Tensor.ToArray{T}"/>).
    /// </param>
    public Tensor Forward(Tensor sample, Tensor timestep, Tensor encoderHiddenStates, Action<string, Tensor>? observer = null)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(timestep);
        ArgumentNullException.ThrowIfNull(encoderHiddenStates);
        CheckInputs(sample, timestep, encoderHiddenStates);
        using var scope = TensorScope.Enter();
        var batch = sample.Size(0);
        var x = ToModel(sample);
        var context = ToModel(encoderHiddenStates);
        if (Config.CenterInputSample) x = x * 2.0 - 1.0;

        // Timesteps: a 0-d tensor becomes [1], then every row gets it (diffusers' expand).
        var steps = timestep.To(Device);
        if (steps.Dim == 0) steps = steps.Unsqueeze(0);
        steps = steps.Expand(batch);
        var tProj = TimestepProjection.Forward(steps, Config.TimestepProjectionDim, Config.FlipSinToCos, Config.FreqShift);
        if (tProj.DType != DType) tProj = tProj.To(DType);
        observer?.Invoke("time_proj", tProj);
        var emb = timeEmbedding.Forward(tProj);
        observer?.Invoke("time_embedding", emb);

        var h = convIn.Forward(x);
        observer?.Invoke("conv_in", h);
        var skips = new List<Tensor> { h };
        for (var i = 0; i < downBlocks.Length; i++)
        {
            h = downBlocks[i].Forward(h, emb, context, skips);
            observer?.Invoke($"down_blocks.{i}", h);
        }

        if (midBlock is not null)
        {
            h = midBlock.Forward(h, emb, context);
            observer?.Invoke("mid_block", h);
        }

        // diffusers passes explicit upsample sizes when the latent size is not a multiple of the total upsampling.
        var factor = 1L << (upBlocks.Length - 1);
        var explicitSizes = x.Size(2) % factor != 0 || x.Size(3) % factor != 0;
        for (var i = 0; i < upBlocks.Length; i++)
        {
            (long, long)? size = null;
            if (explicitSizes && i < upBlocks.Length - 1)
            {
                var target = skips[skips.Count - 1 - upBlocks[i].SkipCount];
                size = (target.Size(2), target.Size(3));
            }

            var up = upBlocks[i].Forward(h, emb, context, skips, size);
            h.Dispose();
            h = up;
            observer?.Invoke($"up_blocks.{i}", h);
        }

        var normed = convNormOut.Forward(h).SiluInPlace();
        h.Dispose();
        return scope.MoveToOuter(convOut.Forward(normed));
    }

    private Tensor ToModel(Tensor t) => t.Device == Device && t.DType == DType ? t : t.To(Device, DType);

    private void CheckInputs(Tensor sample, Tensor timestep, Tensor encoderHiddenStates)
    {
        if (sample.Dim != 4 || sample.Size(1) != Config.InChannels)
            throw new ArgumentException($"sample must be [B, {Config.InChannels}, H, W], got {sample}", nameof(sample));
        var batch = sample.Size(0);
        if (encoderHiddenStates.Dim != 3 || encoderHiddenStates.Size(0) != batch)
            throw new ArgumentException($"encoderHiddenStates must be [{batch}, S, C], got {encoderHiddenStates}", nameof(encoderHiddenStates));
        foreach (var dim in contextWidths)
        {
            if (encoderHiddenStates.Size(2) != dim)
                throw new ArgumentException($"encoderHiddenStates width {encoderHiddenStates.Size(2)} differs from cross_attention_dim {dim}", nameof(encoderHiddenStates));
        }

        if (timestep.Dim > 1 || (timestep.Dim == 1 && timestep.Size(0) != 1 && timestep.Size(0) != batch))
            throw new ArgumentException($"timestep must be 0-d or [1] or [{batch}], got {timestep}", nameof(timestep));
    }

    /// <summary>Frees the weights.</summary>
    public void Dispose()
    {
        timeEmbedding.Dispose();
        convIn.Dispose();
        foreach (var block in downBlocks) block.Dispose();
        midBlock?.Dispose();
        foreach (var block in upBlocks) block.Dispose();
        convNormOut.Dispose();
        convOut.Dispose();
    }
}
