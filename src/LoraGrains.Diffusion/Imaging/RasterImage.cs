using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Imaging;

/// <summary>An 8-bit image, rows top to bottom, channels interleaved (RGB or RGBA).</summary>
public sealed class RasterImage
{
    /// <summary>Wraps <paramref name="pixels"/> (height·width·channels bytes, row-major, channels interleaved).</summary>
    public RasterImage(int width, int height, int channels, byte[] pixels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        if (pixels.LongLength != (long)width * height * channels)
            throw new ArgumentException($"{pixels.LongLength} bytes do not hold {width}x{height}x{channels}", nameof(pixels));
        Width = width;
        Height = height;
        Channels = channels;
        Pixels = pixels;
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>Channels per pixel (3 = RGB, 4 = RGBA).</summary>
    public int Channels { get; }

    /// <summary>The samples, <c>[y, x, c]</c> row-major.</summary>
    public byte[] Pixels { get; }

    /// <summary>
    /// The image as a float32 tensor [1, C, H, W] with values 2·(v/255) − 1 in [−1, 1], computed exactly as
    /// diffusers' <c>VaeImageProcessor.preprocess</c> does (float32 division by 255, then 2x − 1).
    /// </summary>
    /// <param name="device">Where to put the tensor (CPU by default).</param>
    /// <param name="dropAlpha">Keep only the first three channels of an RGBA image.</param>
    public Tensor ToTensor(Device? device = null, bool dropAlpha = false)
    {
        var channels = dropAlpha && Channels == 4 ? 3 : Channels;
        var plane = Width * Height;
        var data = new float[plane * channels];
        for (var c = 0; c < channels; c++)
        {
            var dst = data.AsSpan(c * plane, plane);
            for (int i = 0, src = c; i < plane; i++, src += Channels)
            {
                var unit = Pixels[src] / 255f;
                dst[i] = 2f * unit - 1f;
            }
        }

        return Tensor.FromSpan<float>(data, [1, channels, Height, Width], device);
    }
}
