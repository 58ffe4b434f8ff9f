using LoraGrains.Diffusion.Models.Layers;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.Blocks;

/// <summary>
/// diffusers' <c>ResnetBlock2D</c> with <c>time_embedding_norm="default"</c>:
/// <c>out = (shortcut(x) + conv2(silu(norm2(conv1(silu(norm1(x))) + proj(silu(temb)))))) / output_scale_factor</c>.
/// The time-embedding projection exists only when <c>tembChannels</c> is given (UNet); the VAE has none.
/// Dropout is omitted: this is inference only.
/// </summary>
public sealed class ResnetBlock2D : IAdaptableModel, IDisposable
{
    /// <summary>
    /// Loads the block at module path <paramref name="name"/>: <c>norm1</c>, <c>conv1</c> (3×3),
    /// <c>time_emb_proj</c> (when <paramref name="tembChannels"/> is given), <c>norm2</c>, <c>conv2</c> (3×3) and,
    /// when the channel counts differ, <c>conv_shortcut</c> (1×1).
    /// </summary>
    /// <param name="context">Weights, device and dtype.</param>
    /// <param name="name">Module path, e.g. <c>encoder.down_blocks.0.resnets.1</c>.</param>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="groups">GroupNorm groups of both norms.</param>
    /// <param name="eps">GroupNorm epsilon (1e-6 in the VAE, 1e-5 in the SD UNet).</param>
    /// <param name="tembChannels">Width of the time embedding; null for no time conditioning.</param>
    /// <param name="outputScaleFactor">Divisor of the output (1 in SD).</param>
    public ResnetBlock2D(
        ModelContext context, string name, long inChannels, long outChannels, int groups, double eps,
        long? tembChannels = null, double outputScaleFactor = 1.0)
    {
        ArgumentNullException.ThrowIfNull(context);
        Name = name;
        InChannels = inChannels;
        OutChannels = outChannels;
        OutputScaleFactor = outputScaleFactor;
        Norm1 = new GroupNorm(context, ModelContext.Join(name, "norm1"), groups, inChannels, eps);
        Conv1 = new Conv2d(context, ModelContext.Join(name, "conv1"), inChannels, outChannels, 3, padding: 1);
        if (tembChannels is { } t) TimeEmbProj = new Linear(context, ModelContext.Join(name, "time_emb_proj"), t, outChannels);
        Norm2 = new GroupNorm(context, ModelContext.Join(name, "norm2"), groups, outChannels, eps);
        Conv2 = new Conv2d(context, ModelContext.Join(name, "conv2"), outChannels, outChannels, 3, padding: 1);
        if (inChannels != outChannels) ConvShortcut = new Conv2d(context, ModelContext.Join(name, "conv_shortcut"), inChannels, outChannels, 1);
        AdaptableLayers = AdaptableLayerIndex.Create([Conv1, TimeEmbProj, Conv2, ConvShortcut]);
    }

    /// <summary>Module path.</summary>
    public string Name { get; }

    /// <summary>Input channels.</summary>
    public long InChannels { get; }

    /// <summary>Output channels.</summary>
    public long OutChannels { get; }

    /// <summary>Divisor applied to the output.</summary>
    public double OutputScaleFactor { get; }

    /// <summary>First normalisation (over the input channels).</summary>
    public GroupNorm Norm1 { get; }

    /// <summary>First 3×3 convolution.</summary>
    public Conv2d Conv1 { get; }

    /// <summary>Projection of the time embedding to the output channels, or null when the block is not time-conditioned.</summary>
    public Linear? TimeEmbProj { get; }

    /// <summary>Second normalisation.</summary>
    public GroupNorm Norm2 { get; }

    /// <summary>Second 3×3 convolution.</summary>
    public Conv2d Conv2 { get; }

    /// <summary>1×1 convolution on the residual path, present when input and output channels differ.</summary>
    public Conv2d? ConvShortcut { get; }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, IAdaptableLayer> AdaptableLayers { get; }

    /// <summary>Applies the block to NCHW <paramref name="x"/>.</summary>
    /// <param name="x">Input [N, in, H, W].</param>
    /// <param name="temb">Time embedding [N, temb] (before the SiLU); required exactly when the block has <see cref="TimeEmbProj"/>.</param>
    /// <returns>[N, out, H, W].</returns>
    public Tensor Forward(Tensor x, Tensor? temb = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        if ((temb is null) != (TimeEmbProj is null))
        {
            throw new ArgumentException(
                TimeEmbProj is null ? $"{Name}: this block takes no time embedding" : $"{Name}: this block needs a time embedding",
                nameof(temb));
        }

        using var scope = TensorScope.Enter();
        var h = Norm1.Forward(x).SiluInPlace();
        h = h.ReplacedBy(Conv1.Forward(h));
        if (TimeEmbProj is not null)
        {
            // [N, out] → [N, out, 1, 1] so it broadcasts over the pixels.
            var t = TimeEmbProj.Forward(temb!.Silu());
            h.AddInPlace(t.Unsqueeze(-1).Unsqueeze(-1));
        }

        h = h.ReplacedBy(Norm2.Forward(h).SiluInPlace());
        h = h.ReplacedBy(Conv2.Forward(h));
        h = ConvShortcut is null ? h.AddInPlace(x) : h.ReplacedBy(ConvShortcut.Forward(x).AddInPlace(h));
        if (OutputScaleFactor != 1.0) h.DivInPlace(OutputScaleFactor);
        return scope.MoveToOuter(h);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Norm1.Dispose();
        Conv1.Dispose();
        TimeEmbProj?.Dispose();
        Norm2.Dispose();
        Conv2.Dispose();
        ConvShortcut?.Dispose();
    }
}
