using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace LoraGrains.Diffusion.Tests.Imaging;

/// <summary>Writes test PNGs with a chosen filter per row, so the decoder sees every filter type.</summary>
internal static class PngWriter
{
    public static byte[] Encode(int width, int height, int channels, byte[] pixels, Func<int, byte> filterOfRow, byte bitDepth = 8, byte? colorType = null, byte interlace = 0)
    {
        var rowBytes = width * channels;
        var raw = new MemoryStream();
        for (var y = 0; y < height; y++)
        {
            var f = filterOfRow(y);
            raw.WriteByte(f);
            for (var i = 0; i < rowBytes; i++)
            {
                int x = pixels[y * rowBytes + i];
                int a = i >= channels ? pixels[y * rowBytes + i - channels] : 0;
                int b = y > 0 ? pixels[(y - 1) * rowBytes + i] : 0;
                int c = i >= channels && y > 0 ? pixels[(y - 1) * rowBytes + i - channels] : 0;
                var predicted = f switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    4 => Paeth(a, b, c),
                    _ => 0,
                };
                raw.WriteByte((byte)(x - predicted));
            }
        }

        var z = new MemoryStream();
        using (var zlib = new ZLibStream(z, CompressionLevel.Optimal, leaveOpen: true)) raw.WriteTo(zlib);
        var compressed = z.ToArray();

        var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(ihdr, (uint)width);
        BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(4), (uint)height);
        ihdr[8] = bitDepth;
        ihdr[9] = colorType ?? (byte)(channels == 4 ? 6 : 2);
        ihdr[12] = interlace;
        Chunk(png, "IHDR", ihdr);
        Chunk(png, "tEXt", Encoding.ASCII.GetBytes("Comment\0ancillary chunks are skipped"));
        // Split the data over two IDAT chunks: decoders must concatenate them.
        var half = compressed.Length / 2;
        Chunk(png, "IDAT", compressed[..half]);
        Chunk(png, "IDAT", compressed[half..]);
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        var buf = new byte[12 + data.Length];
        BinaryPrimitives.WriteUInt32BigEndian(buf, (uint)data.Length);
        Encoding.ASCII.GetBytes(type).CopyTo(buf, 4);
        data.CopyTo(buf, 8);
        BinaryPrimitives.WriteUInt32BigEndian(buf.AsSpan(8 + data.Length), Crc(buf.AsSpan(4, 4 + data.Length)));
        s.Write(buf);
    }

    // Bitwise CRC-32, written independently of the decoder's table version.
    private static uint Crc(ReadOnlySpan<byte> data)
    {
        var c = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            c ^= b;
            for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }

        return ~c;
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
