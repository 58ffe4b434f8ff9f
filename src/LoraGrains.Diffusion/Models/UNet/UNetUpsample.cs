using LoraGrains.Diffusion.Models.Layers;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.UNet;

/// <summary>diffusers' Upsample2D with a convolution: nearest-neighbour ×2 (or to a given size), then 3×3 conv.</summary>
internal sealed class UNetUpsample
{
    private readonly Conv2d conv;

    public UNetUpsample(UNetLayers layers, string name, long channels) =>
        conv = layers.Conv2d(name + ".conv", channels, channels, 3, padding: 1);

    /// <summary>Upsamples <paramref name="x"/> to twice its size, or to <paramref name="outputSize"/> when given.</summary>
    public Tensor Forward(Tensor x, (long Height, long Width)? outputSize = null)
    {
        using var scope = TensorScope.Enter();
        var dtype = x.DType;
        // Nearest upsampling has no bfloat16 kernel in older libtorch; diffusers upcasts the same way.
        var input = dtype == DType.BFloat16 ? x.To(DType.Float32) : x;
        var (h, w) = outputSize ?? (input.Size(2) * 2, input.Size(3) * 2);
        var up = Functional.InterpolateNearest(input, h, w);
        if (dtype == DType.BFloat16) up = up.To(dtype);
        return scope.MoveToOuter(conv.Forward(up));
    }
}
