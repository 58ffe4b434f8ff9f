using LoraGrains.Diffusion.Models.Layers;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.Blocks;

/// <summary>
/// diffusers' <c>Downsample2D</c> with <c>use_conv=True</c>: a 3×3 stride-2 convolution <c>{name}.conv</c>.
/// With <c>padding = 0</c> (the VAE encoder) the input is first zero-padded by one pixel on the right and
/// bottom only, as diffusers does; the UNet uses <c>padding = 1</c> (symmetric, inside the convolution).
/// </summary>
public sealed class Downsample2D : IAdaptableModel, IDisposable
{
    private static readonly long[] AsymmetricPad = [0, 1, 0, 1];

    /// <summary>Loads <c>{name}.conv</c> [outChannels, channels, 3, 3].</summary>
    /// <param name="context">Weights, device and dtype.</param>
    /// <param name="name">Module path, e.g. <c>down_blocks.0.downsamplers.0</c>.</param>
    /// <param name="channels">Input channels.</param>
    /// <param name="outChannels">Output channels (default: <paramref name="channels"/>).</param>
    /// <param name="padding">Convolution padding: 1 for the UNet, 0 for the VAE (then padded (0,1,0,1) first).</param>
    public Downsample2D(ModelContext context, string name, long channels, long? outChannels = null, int padding = 1)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        Name = name;
        Padding = padding;
        Conv = new Conv2d(context, ModelContext.Join(name, "conv"), channels, outChannels ?? channels, 3, stride: 2, padding: padding);
        AdaptableLayers = AdaptableLayerIndex.Create([Conv]);
    }

    /// <summary>Module path.</summary>
    public string Name { get; }

    /// <summary>Convolution padding; 0 means the asymmetric (0,1,0,1) pre-padding is applied.</summary>
    public int Padding { get; }

    /// <summary>The stride-2 convolution.</summary>
    public Conv2d Conv { get; }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, IAdaptableLayer> AdaptableLayers { get; }

    /// <summary>Halves the spatial size of NCHW <paramref name="x"/> (rounding up).</summary>
    public Tensor Forward(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (Padding != 0) return Conv.Forward(x);
        using var padded = Functional.Pad(x, AsymmetricPad);
        return Conv.Forward(padded);
    }

    /// <inheritdoc />
    public void Dispose() => Conv.Dispose();
}
