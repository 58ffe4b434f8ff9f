using System.Security.Cryptography;
using LoraGrains.Diffusion.Imaging;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Tests.Imaging;

public sealed class PngDecoderTests
{
    private static byte[] Pattern(int width, int height, int channels)
    {
        var rng = new Random(1234);
        var pixels = new byte[width * height * channels];
        for (var i = 0; i < pixels.Length; i++)
        {
            // Half smooth gradient, half noise: exercises predictors with both small and wrapping residuals.
            pixels[i] = i % 2 == 0 ? (byte)((i / channels) * 7 + i % channels * 50) : (byte)rng.Next(256);
        }

        return pixels;
    }

    [Fact]
    public void The_fixture_png_decodes_to_the_pixels_python_zlib_gives()
    {
        var image = PngDecoder.DecodeFile(Fixtures.Path("refs", "vae_encode_input.png"));
        Assert.Equal((256, 256, 3), (image.Width, image.Height, image.Channels));
        // sha256 of the unfiltered RGB bytes, computed with Python's zlib and a reference unfilter.
        Assert.Equal("d28f1ec02af8d57dd74fed8b82db1dd61cd733575bfe9fae9873dce4bf2158ca", Convert.ToHexStringLower(SHA256.HashData(image.Pixels)));
    }

    [Theory]
    [InlineData(0, 3)]
    [InlineData(1, 3)]
    [InlineData(2, 3)]
    [InlineData(3, 3)]
    [InlineData(4, 3)]
    [InlineData(0, 4)]
    [InlineData(1, 4)]
    [InlineData(2, 4)]
    [InlineData(3, 4)]
    [InlineData(4, 4)]
    public void Every_filter_type_round_trips(int filter, int channels)
    {
        var pixels = Pattern(13, 7, channels);
        var image = PngDecoder.Decode(PngWriter.Encode(13, 7, channels, pixels, _ => (byte)filter));
        Assert.Equal((13, 7, channels), (image.Width, image.Height, image.Channels));
        Assert.Equal(pixels, image.Pixels);
    }

    [Fact]
    public void Mixed_filters_round_trip()
    {
        var pixels = Pattern(31, 25, 4);
        var image = PngDecoder.Decode(PngWriter.Encode(31, 25, 4, pixels, y => (byte)(y * 3 % 5)));
        Assert.Equal(pixels, image.Pixels);
    }

    [Fact]
    public void ToTensor_maps_bytes_to_minus_one_one_in_nchw()
    {
        byte[] pixels = [0, 255, 128, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130]; // 2x2 RGBA
        var image = new RasterImage(2, 2, 4, pixels);
        using var scope = TensorScope.Enter();
        var t = image.ToTensor();
        Assert.Equal([1, 4, 2, 2], t.Shape);
        var values = t.ToArray<float>();
        Assert.Equal(-1f, values[0]);   // R of pixel 0
        Assert.Equal(1f, values[4]);    // G of pixel 0
        Assert.Equal(2f * (128f / 255f) - 1f, values[8]); // B of pixel 0
        Assert.Equal(2f * (110f / 255f) - 1f, values[(1 * 4) + 3]); // G of pixel 3
        Assert.Equal([1, 3, 2, 2], image.ToTensor(dropAlpha: true).Shape);
    }

    [Fact]
    public void Damaged_files_are_reported()
    {
        var png = PngWriter.Encode(4, 4, 3, Pattern(4, 4, 3), _ => 1);
        var badCrc = (byte[])png.Clone();
        badCrc[20] ^= 0xFF; // inside IHDR's width
        Assert.Contains("CRC", Assert.Throws<InvalidDataException>(() => PngDecoder.Decode(badCrc)).Message);
        Assert.Contains("signature", Assert.Throws<InvalidDataException>(() => PngDecoder.Decode(png.AsSpan(1))).Message);
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => PngDecoder.Decode(png.AsSpan(0, png.Length - 20))).Message);
    }

    [Fact]
    public void Short_image_data_is_reported()
    {
        // Header says 4x5 but the data holds 4 rows.
        var png = PngWriter.Encode(4, 4, 3, Pattern(4, 4, 3), _ => 0);
        var pngTall = PngWriter.Encode(4, 5, 3, Pattern(4, 5, 3), _ => 0);
        // Signature + IHDR (8 + 25 bytes) of the 4x5 file, the rest from the 4x4 one.
        var spliced = pngTall[..33].Concat(png[33..]).ToArray();
        Assert.Contains("shorter", Assert.Throws<InvalidDataException>(() => PngDecoder.Decode(spliced)).Message);
    }

    [Theory]
    [InlineData(16, 2, 0, "16-bit")]
    [InlineData(8, 3, 0, "palette")]
    [InlineData(8, 0, 0, "greyscale")]
    [InlineData(8, 4, 0, "greyscale+alpha")]
    [InlineData(8, 2, 1, "interlaced")]
    public void Unsupported_pngs_say_why(byte bitDepth, byte colorType, byte interlace, string reason)
    {
        var png = PngWriter.Encode(4, 4, 3, Pattern(4, 4, 3), _ => 0, bitDepth, colorType, interlace);
        var e = Assert.Throws<NotSupportedException>(() => PngDecoder.Decode(png));
        Assert.Contains(reason, e.Message);
    }
}
