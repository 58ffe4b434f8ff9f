using LoraGrains.Diffusion.Models.Layers;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.Blocks;

/// <summary>
/// Self-attention across the pixels of an NCHW feature map, as diffusers' <c>Attention</c> is configured in
/// the VAE mid blocks (<c>UNetMidBlock2D</c>): GroupNorm (<c>group_norm</c>), linear <c>to_q</c>/<c>to_k</c>/<c>to_v</c>
/// over the channels, scaled dot-product attention with scale <c>head_dim^-0.5</c>, <c>to_out.0</c>, plus the
/// input (residual), divided by <c>rescale_output_factor</c>. SD's VAE uses a single head.
/// </summary>
public sealed class SpatialSelfAttention : IAdaptableModel, IDisposable
{
    /// <summary>Loads <c>group_norm</c>, <c>to_q</c>, <c>to_k</c>, <c>to_v</c> and <c>to_out.0</c> (all [C, C] with biases) under <paramref name="name"/>.</summary>
    /// <param name="context">Weights, device and dtype.</param>
    /// <param name="name">Module path, e.g. <c>decoder.mid_block.attentions.0</c>.</param>
    /// <param name="channels">Channels C (also the attention width).</param>
    /// <param name="groups">GroupNorm groups.</param>
    /// <param name="eps">GroupNorm epsilon.</param>
    /// <param name="heads">Attention heads (C must divide evenly).</param>
    /// <param name="rescaleOutputFactor">Divisor of the output after the residual.</param>
    public SpatialSelfAttention(ModelContext context, string name, long channels, int groups, double eps, int heads = 1, double rescaleOutputFactor = 1.0)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (heads <= 0 || channels % heads != 0)
            throw new ModelLoadException($"{context.Weights.Component}: {name}: {channels} channels cannot be split into {heads} heads");
        Name = name;
        Channels = channels;
        Heads = heads;
        RescaleOutputFactor = rescaleOutputFactor;
        GroupNorm = new GroupNorm(context, ModelContext.Join(name, "group_norm"), groups, channels, eps);
        ToQ = new Linear(context, ModelContext.Join(name, "to_q"), channels, channels);
        ToK = new Linear(context, ModelContext.Join(name, "to_k"), channels, channels);
        ToV = new Linear(context, ModelContext.Join(name, "to_v"), channels, channels);
        ToOut = new Linear(context, ModelContext.Join(name, "to_out.0"), channels, channels);
        AdaptableLayers = AdaptableLayerIndex.Create([ToQ, ToK, ToV, ToOut]);
    }

    /// <summary>Module path.</summary>
    public string Name { get; }

    /// <summary>Channels.</summary>
    public long Channels { get; }

    /// <summary>Attention heads.</summary>
    public int Heads { get; }

    /// <summary>Divisor of the output.</summary>
    public double RescaleOutputFactor { get; }

    /// <summary>Normalisation before the projections.</summary>
    public GroupNorm GroupNorm { get; }

    /// <summary>Query projection.</summary>
    public Linear ToQ { get; }

    /// <summary>Key projection.</summary>
    public Linear ToK { get; }

    /// <summary>Value projection.</summary>
    public Linear ToV { get; }

    /// <summary>Output projection (<c>to_out.0</c>).</summary>
    public Linear ToOut { get; }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, IAdaptableLayer> AdaptableLayers { get; }

    /// <summary>Applies attention to NCHW <paramref name="x"/>; the result has the same shape.</summary>
    public Tensor Forward(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Dim != 4 || x.Size(1) != Channels)
            throw new ArgumentException($"{Name}: expected [N, {Channels}, H, W], got [{string.Join(", ", x.Shape)}]", nameof(x));
        using var scope = TensorScope.Enter();
        long n = x.Size(0), c = Channels, h = x.Size(2), w = x.Size(3);
        // [N, C, H, W] → [N, HW, C]: every pixel is a token.
        var tokens = GroupNorm.Forward(x).View(n, c, h * w).Transpose(1, 2);
        var attended = MultiHeadAttention.Attend(ToQ.Forward(tokens), ToK.Forward(tokens), ToV.Forward(tokens), Heads);
        var y = ToOut.Forward(attended).Transpose(1, 2).Reshape(n, c, h, w).AddInPlace(x);
        if (RescaleOutputFactor != 1.0) y.DivInPlace(RescaleOutputFactor);
        return scope.MoveToOuter(y);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        GroupNorm.Dispose();
        ToQ.Dispose();
        ToK.Dispose();
        ToV.Dispose();
        ToOut.Dispose();
    }
}
