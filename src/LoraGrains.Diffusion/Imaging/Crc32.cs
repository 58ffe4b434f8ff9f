namespace LoraGrains.Diffusion.Imaging;

/// <summary>The CRC-32 of PNG chunks and zlib's crc32 (reflected polynomial 0xEDB88320).</summary>
internal static class Crc32
{
    private static readonly uint[] Table = BuildTable();

    /// <summary>CRC of <paramref name="data"/>, continuing from <paramref name="crc"/> (0 to start).</summary>
    public static uint Compute(ReadOnlySpan<byte> data, uint crc = 0)
    {
        var c = ~crc;
        foreach (var b in data) c = Table[(c ^ b) & 0xFF] ^ (c >> 8);
        return ~c;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }

        return table;
    }
}
