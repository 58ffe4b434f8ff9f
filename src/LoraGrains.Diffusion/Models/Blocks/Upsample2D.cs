using LoraGrains.Diffusion.Models.Layers;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.Blocks;

/// <summary>
/// diffusers' <c>Upsample2D</c> with <c>use_conv=True</c>: nearest-neighbour ×2 (or to an explicit size)
/// followed by the 3×3 convolution <c>{name}.conv</c> (padding 1). The UNet's and the VAE decoder's upsamplers.
/// </summary>
public sealed class Upsample2D : IAdaptableModel, IDisposable
{
    /// <summary>Loads <c>{name}.conv</c> [outChannels, channels, 3, 3].</summary>
    /// <param name="context">Weights, device and dtype.</param>
    /// <param name="name">Module path, e.g. <c>up_blocks.0.upsamplers.0</c>.</param>
    /// <param name="channels">Input channels.</param>
    /// <param name="outChannels">Output channels (default: <paramref name="channels"/>).</param>
    public Upsample2D(ModelContext context, string name, long channels, long? outChannels = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        Name = name;
        Conv = new Conv2d(context, ModelContext.Join(name, "conv"), channels, outChannels ?? channels, 3, padding: 1);
        AdaptableLayers = AdaptableLayerIndex.Create([Conv]);
    }

    /// <summary>Module path.</summary>
    public string Name { get; }

    /// <summary>The 3×3 convolution after the resize.</summary>
    public Conv2d Conv { get; }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, IAdaptableLayer> AdaptableLayers { get; }

    /// <summary>Upsamples NCHW <paramref name="x"/>.</summary>
    /// <param name="x">Input [N, C, H, W].</param>
    /// <param name="outputSize">
    /// Target (height, width) instead of (2H, 2W): the UNet passes the skip connection's size when the
    /// input size is not a multiple of the total down-sampling factor (diffusers' <c>upsample_size</c>).
    /// </param>
    public Tensor Forward(Tensor x, (long Height, long Width)? outputSize = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        using var scope = TensorScope.Enter();
        var (h, w) = outputSize ?? (x.Size(-2) * 2, x.Size(-1) * 2);
        // Nearest upsampling has no bfloat16 kernel in older libtorch; diffusers upcasts the same way. Nearest
        // only copies values, so the round trip through float32 is exact.
        var resized = x.DType == DType.BFloat16 ? UpsampleInFloat32(x, h, w) : Functional.InterpolateNearest(x, h, w);
        return scope.MoveToOuter(resized.ReplacedBy(Conv.Forward(resized)));
    }

    private static Tensor UpsampleInFloat32(Tensor x, long height, long width)
    {
        using var wide = x.To(DType.Float32);
        using var resized = Functional.InterpolateNearest(wide, height, width);
        return resized.To(x.DType);
    }

    /// <inheritdoc />
    public void Dispose() => Conv.Dispose();
}
