using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.RegularExpressions;
using System.Text.Unicode;

namespace LoraGrains.Diffusion.Text;

/// <summary>
/// ftfy 6.1.1's <c>fix_encoding</c>: undoes UTF-8 text that was decoded with a single-byte code
/// page (for example "Ã©tÃ©" → "été"), as a whole or in embedded runs, only when the mojibake
/// heuristic flags the text.
/// </summary>
internal static partial class MojibakeRepair
{
    /// <summary>Repeats the one-step fix until the text stops changing.</summary>
    public static string FixEncoding(string text)
    {
        while (true)
        {
            string fixedText = FixEncodingOneStep(text);
            if (fixedText == text)
            {
                return text;
            }

            text = fixedText;
        }
    }

    private static string FixEncodingOneStep(string text)
    {
        if (text.Length == 0 || Ascii.IsValid(text) || !MojibakeDetector.IsBad(text))
        {
            return text;
        }

        bool latin1Possible = false;
        foreach (SingleByteEncoding encoding in SingleByteEncoding.MojibakeCandidates)
        {
            if (!encoding.CanEncode(text))
            {
                continue;
            }

            latin1Possible |= encoding == SingleByteEncoding.Latin1;
            byte[] bytes = encoding.Encode(text);
            if (AlteredUtf8().IsMatch(AsLatin1(bytes)))
            {
                bytes = RestoreByteA0(bytes);
            }

            if (encoding.IsSloppy)
            {
                bytes = Encoding.Latin1.GetBytes(LossyUtf8().Replace(AsLatin1(bytes), "\u00EF\u00BF\u00BD"));
            }

            if (TryDecodeUtf8Variants(bytes, out string? decoded))
            {
                return decoded;
            }
        }

        if (MojibakeDetector.Utf8Sequences().IsMatch(text))
        {
            string fixedText = DecodeInconsistentUtf8(text);
            if (fixedText != text)
            {
                return fixedText;
            }
        }

        // ftfy checks for "windows-1252" in a list that only ever holds "sloppy-windows-1252", so
        // Latin-1 text is always re-read as strict Windows-1252 here.
        if (latin1Possible && TryReadLatin1AsWindows1252(text, out string? windows1252) && windows1252 != text)
        {
            return windows1252;
        }

        return ContainsC1Control(text) ? FixC1Controls(text) : text;
    }

    /// <summary>ftfy's <c>fix_c1_controls</c>: reads C1 control characters as Windows-1252.</summary>
    public static string FixC1Controls(string text)
    {
        if (!ContainsC1Control(text))
        {
            return text;
        }

        return string.Create(text.Length, text, static (destination, source) =>
        {
            for (int i = 0; i < source.Length; i++)
            {
                char c = source[i];
                destination[i] = c is >= '\u0080' and <= '\u009F' ? SingleByteEncoding.Windows1252.Decode((byte)c) : c;
            }
        });
    }

    private static bool ContainsC1Control(string text) => text.AsSpan().ContainsAnyInRange('\u0080', '\u009F');

    // Fixes each embedded run that looks like mojibake on its own (never the whole text, which
    // the code pages above already failed on).
    private static string DecodeInconsistentUtf8(string text) =>
        MojibakeDetector.Utf8Sequences().Replace(text, match =>
            match.Length < text.Length && MojibakeDetector.IsBad(match.Value) ? FixEncoding(match.Value) : match.Value);

    // Only the C1 range differs between Latin-1 and Windows-1252.
    private static bool TryReadLatin1AsWindows1252(string text, [NotNullWhen(true)] out string? result)
    {
        var builder = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            char decoded = c is >= '\u0080' and <= '\u009F' ? SingleByteEncoding.Windows1252.Decode((byte)c) : c;
            if (c is >= '\u0080' and <= '\u009F' && decoded == c)
            {
                // Undefined in strict Windows-1252 (0x81, 0x8D, 0x8F, 0x90, 0x9D).
                result = null;
                return false;
            }

            builder.Append(decoded);
        }

        result = builder.ToString();
        return true;
    }

    // Bytes are matched with .NET's string regexes through Latin-1, one char per byte.
    private static string AsLatin1(byte[] bytes) => Encoding.Latin1.GetString(bytes);

    // ftfy's restore_byte_a0: put back the 0xA0 bytes that a Windows program turned into spaces,
    // keeping "à" as its own word in "Ã la".
    private static byte[] RestoreByteA0(byte[] bytes)
    {
        string text = AGraveWord().Replace(AsLatin1(bytes), "\u00C3\u00A0 ");
        text = AlteredUtf8().Replace(text, match => match.Value.Replace(' ', '\u00A0'));
        return Encoding.Latin1.GetBytes(text);
    }

    // ftfy's "utf-8-variants": strict UTF-8 plus CESU-8 surrogate pairs and Java's C0 80 for NUL.
    private static bool TryDecodeUtf8Variants(byte[] bytes, [NotNullWhen(true)] out string? text)
    {
        var builder = new StringBuilder(bytes.Length);
        int pending = 0;
        int index = 0;
        while (index < bytes.Length)
        {
            int special = SpecialSequenceLength(bytes, index);
            if (special == 0)
            {
                index++;
                continue;
            }

            if (!TryAppendUtf8(bytes.AsSpan(pending, index - pending), builder))
            {
                text = null;
                return false;
            }

            if (special == 2)
            {
                builder.Append('\0');
            }
            else
            {
                int codePoint = ((bytes[index + 1] & 0x0F) << 16) + ((bytes[index + 2] & 0x3F) << 10)
                    + ((bytes[index + 4] & 0x0F) << 6) + (bytes[index + 5] & 0x3F) + 0x10000;
                builder.Append(new Rune(codePoint));
            }

            index += special;
            pending = index;
        }

        if (!TryAppendUtf8(bytes.AsSpan(pending), builder))
        {
            text = null;
            return false;
        }

        text = builder.ToString();
        return true;
    }

    // 2 for C0 80, 6 for a CESU-8 surrogate pair, 0 otherwise.
    private static int SpecialSequenceLength(byte[] bytes, int index)
    {
        if (bytes[index] == 0xC0 && index + 1 < bytes.Length && bytes[index + 1] == 0x80)
        {
            return 2;
        }

        if (bytes[index] == 0xED && index + 5 < bytes.Length
            && bytes[index + 1] is >= 0xA0 and <= 0xAF && bytes[index + 2] is >= 0x80 and <= 0xBF
            && bytes[index + 3] == 0xED
            && bytes[index + 4] is >= 0xB0 and <= 0xBF && bytes[index + 5] is >= 0x80 and <= 0xBF)
        {
            return 6;
        }

        return 0;
    }

    private static bool TryAppendUtf8(ReadOnlySpan<byte> bytes, StringBuilder builder)
    {
        char[] buffer = ArrayPool<char>.Shared.Rent(bytes.Length);
        try
        {
            OperationStatus status = Utf8.ToUtf16(bytes, buffer, out _, out int written, replaceInvalidSequences: false);
            if (status != OperationStatus.Done)
            {
                return false;
            }

            builder.Append(buffer, 0, written);
            return true;
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
        }
    }

    // chardata.ALTERED_UTF8_RE on Latin-1 text: UTF-8 that would be valid with 0xA0 for a space.
    [GeneratedRegex(
        "[\u00C2\u00C3\u00C5\u00CE\u00D0\u00D9] " +
        "|[\u00E2\u00E3] [\u0080-\u0084\u0086-\u009F\u00A1-\u00BF]" +
        "|[\u00E0-\u00E3][\u0080-\u0084\u0086-\u009F\u00A1-\u00BF] " +
        "|\u00F0 [\u0080-\u00BF][\u0080-\u00BF]" +
        "|\u00F0[\u0080-\u00BF] [\u0080-\u00BF]" +
        "|\u00F0[\u0080-\u00BF][\u0080-\u00BF] ",
        RegexOptions.CultureInvariant)]
    private static partial Regex AlteredUtf8();

    // fixes.A_GRAVE_WORD_RE: "Ã " as a word is "à", except before Portuguese "às", "àquele", ...
    [GeneratedRegex("\u00C3 (?! |quele|quela|quilo|s )", RegexOptions.CultureInvariant)]
    private static partial Regex AGraveWord();

    // chardata.LOSSY_UTF8_RE: UTF-8 sequences whose lost bytes became 0x1A (or one '?').
    [GeneratedRegex(
        "[\u00C2-\u00DF]\u001A" +
        "|[\u00C2\u00C3]\\?" +
        "|\u00ED[\u00A0-\u00AF][\u001A?]\u00ED[\u00B0-\u00BF][\u001A?\u0080-\u00BF]" +
        "|\u00ED[\u00A0-\u00AF][\u001A?\u0080-\u00BF]\u00ED[\u00B0-\u00BF][\u001A?]" +
        "|[\u00E0-\u00EF][\u001A?][\u001A\u0080-\u00BF]" +
        "|[\u00E0-\u00EF][\u001A\u0080-\u00BF][\u001A?]" +
        "|[\u00F0-\u00F4][\u001A?][\u001A\u0080-\u00BF][\u001A\u0080-\u00BF]" +
        "|[\u00F0-\u00F4][\u001A\u0080-\u00BF][\u001A?][\u001A\u0080-\u00BF]" +
        "|[\u00F0-\u00F4][\u001A\u0080-\u00BF][\u001A\u0080-\u00BF][\u001A?]" +
        "|\u001A",
        RegexOptions.CultureInvariant)]
    private static partial Regex LossyUtf8();
}
