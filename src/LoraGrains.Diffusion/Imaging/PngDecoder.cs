using System.Buffers.Binary;
using System.IO.Compression;

namespace LoraGrains.Diffusion.Imaging;

/// <summary>
/// A minimal PNG decoder for 8-bit RGB and RGBA, non-interlaced images (what image pipelines and the test
/// fixtures produce). Checks the signature and every chunk CRC; all five row filters are supported.
/// Anything else fails with a message saying what: <see cref="InvalidDataException"/> for a damaged file,
/// <see cref="NotSupportedException"/> for a valid PNG this decoder does not handle.
/// </summary>
public static class PngDecoder
{
    private static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Largest accepted image, in pixels, so a hostile header cannot request an absurd allocation.</summary>
    public const long MaxPixels = 1L << 28;

    /// <summary>Decodes the PNG file at <paramref name="path"/>.</summary>
    public static RasterImage DecodeFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        try
        {
            return Decode(File.ReadAllBytes(path));
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
        catch (NotSupportedException e)
        {
            throw new NotSupportedException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>Decodes a whole PNG file held in <paramref name="png"/>.</summary>
    public static RasterImage Decode(ReadOnlySpan<byte> png)
    {
        if (png.Length < Signature.Length || !png[..Signature.Length].SequenceEqual(Signature))
            throw new InvalidDataException("not a PNG file (bad signature)");

        Header? header = null;
        using var compressed = new MemoryStream();
        var pos = Signature.Length;
        var seenIdat = false;
        var idatEnded = false;
        while (true)
        {
            if (png.Length - pos < 12) throw new InvalidDataException("truncated PNG: the IEND chunk is missing");
            var length = BinaryPrimitives.ReadUInt32BigEndian(png[pos..]);
            if (length > int.MaxValue || length > png.Length - pos - 12)
                throw new InvalidDataException($"truncated PNG: chunk at byte {pos} claims {length} bytes");
            var typeAndData = png.Slice(pos + 4, 4 + (int)length);
            var type = System.Text.Encoding.ASCII.GetString(typeAndData[..4]);
            var data = typeAndData[4..];
            var storedCrc = BinaryPrimitives.ReadUInt32BigEndian(png[(pos + 8 + (int)length)..]);
            if (Crc32.Compute(typeAndData) != storedCrc)
                throw new InvalidDataException($"chunk '{type}' at byte {pos} fails its CRC check (damaged file)");
            pos += 12 + (int)length;

            if (header is null && type != "IHDR") throw new InvalidDataException($"first chunk is '{type}', expected IHDR");
            switch (type)
            {
                case "IHDR":
                    if (header is not null) throw new InvalidDataException("more than one IHDR chunk");
                    header = Header.Parse(data);
                    break;
                case "IDAT":
                    if (idatEnded) throw new InvalidDataException("IDAT chunks are not consecutive");
                    seenIdat = true;
                    compressed.Write(data);
                    break;
                case "IEND":
                    if (!seenIdat) throw new InvalidDataException("no IDAT chunk");
                    return new RasterImage(header!.Width, header.Height, header.Channels, Inflate(compressed, header));
                case "PLTE":
                    // Optional suggested palette for truecolour images; not needed to decode.
                    break;
                default:
                    // Ancillary chunks (lower-case first letter) may be skipped; critical ones may not.
                    if (char.IsUpper(type[0])) throw new NotSupportedException($"unsupported critical chunk '{type}'");
                    break;
            }

            if (seenIdat && type != "IDAT") idatEnded = true;
        }
    }

    private static byte[] Inflate(MemoryStream compressed, Header header)
    {
        var rowBytes = header.Width * header.Channels;
        var filtered = new byte[(long)header.Height * (rowBytes + 1)];
        compressed.Position = 0;
        try
        {
            using var zlib = new ZLibStream(compressed, CompressionMode.Decompress);
            zlib.ReadExactly(filtered);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("image data is shorter than the header's size requires", e);
        }

        var pixels = new byte[(long)header.Height * rowBytes];
        Unfilter(filtered, pixels, header.Height, rowBytes, header.Channels);
        return pixels;
    }

    /// <summary>Reverses the per-row filters (PNG spec §9) from <paramref name="filtered"/> into <paramref name="pixels"/>.</summary>
    private static void Unfilter(byte[] filtered, byte[] pixels, int height, int rowBytes, int bpp)
    {
        ReadOnlySpan<byte> zeroRow = new byte[rowBytes];
        for (var y = 0; y < height; y++)
        {
            var filter = filtered[(long)y * (rowBytes + 1)];
            var src = filtered.AsSpan(y * (rowBytes + 1) + 1, rowBytes);
            var row = pixels.AsSpan(y * rowBytes, rowBytes);
            var prior = y == 0 ? zeroRow : pixels.AsSpan((y - 1) * rowBytes, rowBytes);
            switch (filter)
            {
                case 0: // None
                    src.CopyTo(row);
                    break;
                case 1: // Sub: + left
                    for (var i = 0; i < rowBytes; i++) row[i] = (byte)(src[i] + (i >= bpp ? row[i - bpp] : 0));
                    break;
                case 2: // Up: + above
                    for (var i = 0; i < rowBytes; i++) row[i] = (byte)(src[i] + prior[i]);
                    break;
                case 3: // Average: + floor((left + above) / 2)
                    for (var i = 0; i < rowBytes; i++) row[i] = (byte)(src[i] + (((i >= bpp ? row[i - bpp] : 0) + prior[i]) >> 1));
                    break;
                case 4: // Paeth
                    for (var i = 0; i < rowBytes; i++)
                    {
                        int a = i >= bpp ? row[i - bpp] : 0, b = prior[i], c = i >= bpp ? prior[i - bpp] : 0;
                        row[i] = (byte)(src[i] + Paeth(a, b, c));
                    }

                    break;
                default:
                    throw new InvalidDataException($"row {y} has unknown filter type {filter}");
            }
        }
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    private sealed record Header(int Width, int Height, int Channels)
    {
        public static Header Parse(ReadOnlySpan<byte> data)
        {
            if (data.Length != 13) throw new InvalidDataException($"IHDR has {data.Length} bytes, expected 13");
            var width = BinaryPrimitives.ReadUInt32BigEndian(data);
            var height = BinaryPrimitives.ReadUInt32BigEndian(data[4..]);
            byte bitDepth = data[8], colorType = data[9], compression = data[10], filter = data[11], interlace = data[12];
            if (width == 0 || height == 0 || width > int.MaxValue || height > int.MaxValue)
                throw new InvalidDataException($"invalid image size {width}x{height}");
            if (compression != 0) throw new InvalidDataException($"unknown compression method {compression}");
            if (filter != 0) throw new InvalidDataException($"unknown filter method {filter}");
            var channels = colorType switch
            {
                2 => 3,
                6 => 4,
                0 => throw new NotSupportedException("greyscale PNGs are not supported (only 8-bit RGB and RGBA)"),
                3 => throw new NotSupportedException("palette PNGs are not supported (only 8-bit RGB and RGBA)"),
                4 => throw new NotSupportedException("greyscale+alpha PNGs are not supported (only 8-bit RGB and RGBA)"),
                _ => throw new InvalidDataException($"invalid colour type {colorType}"),
            };
            if (bitDepth != 8) throw new NotSupportedException($"{bitDepth}-bit PNGs are not supported (only 8-bit RGB and RGBA)");
            if (interlace == 1) throw new NotSupportedException("interlaced (Adam7) PNGs are not supported");
            if (interlace != 0) throw new InvalidDataException($"unknown interlace method {interlace}");
            if ((long)width * height > MaxPixels) throw new NotSupportedException($"{width}x{height} exceeds the {MaxPixels}-pixel limit");
            // One filtered row (+1 filter byte) per line must fit an int-indexed span.
            if ((long)width * channels + 1 > int.MaxValue / 2) throw new NotSupportedException($"rows of {width} pixels are too wide");
            return new Header((int)width, (int)height, channels);
        }
    }
}
