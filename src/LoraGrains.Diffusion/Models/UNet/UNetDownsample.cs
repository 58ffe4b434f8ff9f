using LoraGrains.Diffusion.Models.Layers;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.UNet;

/// <summary>diffusers' Downsample2D with a convolution: 3×3, stride 2 (padding 0 pads right and bottom by one first, as diffusers).</summary>
internal sealed class UNetDownsample
{
    private readonly Conv2d conv;
    private readonly int padding;

    public UNetDownsample(UNetLayers layers, string name, long channels, int padding)
    {
        conv = layers.Conv2d(name + ".conv", channels, channels, 3, stride: 2, padding: padding);
        this.padding = padding;
    }

    /// <summary>Halves the height and width of <paramref name="x"/>.</summary>
    public Tensor Forward(Tensor x)
    {
        if (padding != 0) return conv.Forward(x);
        using var padded = Functional.Pad(x, [0, 1, 0, 1]);
        return conv.Forward(padded);
    }
}
