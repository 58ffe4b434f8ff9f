namespace LoraGrains.Diffusion.Text;

/// <summary>
/// GPT-2's reversible byte-to-character mapping (<c>bytes_to_unicode</c>) used by CLIP's BPE:
/// printable Latin-1 bytes stand for themselves and every other byte gets a character from
/// U+0100 upwards, so the merges never have to deal with spaces or control characters.
/// </summary>
internal static class ByteLevelAlphabet
{
    private static readonly char[] s_charForByte = BuildMap();

    /// <summary>The character that stands for <paramref name="value"/>.</summary>
    public static char CharForByte(byte value) => s_charForByte[value];

    private static char[] BuildMap()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is (>= '!' and <= '~') or (>= 0xA1 and <= 0xAC) or (>= 0xAE and <= 0xFF);
            map[b] = printable ? (char)b : (char)next++;
        }

        return map;
    }
}
