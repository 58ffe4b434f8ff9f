using System.Text.RegularExpressions;

namespace LoraGrains.Diffusion.Text;

/// <summary>
/// ftfy 6.1.1's mojibake heuristic (<c>badness.is_bad</c>) and its detector of embedded UTF-8
/// sequences (<c>chardata.UTF8_DETECTOR_RE</c>), transcribed from ftfy's character categories.
/// </summary>
/// <remarks>
/// Python's <c>\s</c> and <c>\w</c> differ from .NET's, so they are spelled out. Patterns run on
/// UTF-16, which only differs from Python for astral characters next to these BMP classes.
/// </remarks>
internal static partial class MojibakeDetector
{
    // badness.MOJIBAKE_CATEGORIES
    private const string Common = "\u00A0\u00AD\u00B7\u00B4\u2013\u2014\u2015\u2026\u2019"; //  ­·´–—―…’
    private const string C1 = "\u0080-\u009F";
    private const string Bad = "\u00A6\u00A4\u00A8\u00AC\u00AF\u00B6\u00A7\u00B8\u0192\u02C6\u02C7\u02D8\u02DB\u02DC\u2020\u2021\u2030\u2310\u25CA\uFFFD\u00AA\u00BA"; // ¦¤¨¬¯¶§¸ƒˆˇ˘˛˜†‡‰⌐◊�ªº
    private const string Currency = "\u00A2\u00A3\u00A5\u20A7\u20AC"; // ¢£¥₧€
    private const string StartPunctuation = "\u00A1\u00AB\u00BF\u00A9\u0384\u0385\u2018\u201A\u201C\u201E\u2022\u2039\uF8FF"; // ¡«¿©΄΅‘‚“„•‹
    private const string EndPunctuation = "\u00AE\u00BB\u02DD\u201D\u203A\u2122"; // ®»˝”›™
    private const string Numeric = "\u00B2\u00B3\u00B9\u00B1\u00BC\u00BD\u00BE\u00D7\u00B5\u00F7\u2044\u2202\u2206\u220F\u2211\u221A\u221E\u2229\u222B\u2248\u2260\u2261\u2264\u2265\u2116"; // ²³¹±¼½¾×µ÷⁄∂∆∏∑√∞∩∫≈≠≡≤≥№
    private const string Kaomoji = "\u00D2-\u00D6\u00D9-\u00DC\u00F2-\u00F6\u00F8-\u00FC\u0150\u00B0"; // Ò-ÖÙ-Üò-öø-üŐ°
    private const string UpperAccented = "\u00C0-\u00D1\u00D8\u00DC\u00DD\u0102\u0104\u0106\u010C\u010E\u0110\u0118\u011A\u011E\u0130\u0139\u013D\u0141\u0143\u0147\u0152\u0158\u015A\u015E\u0160\u0162\u0164\u016E\u0170\u0178\u0179\u017B\u017D\u0490"; // À-ÑØÜÝĂĄĆČĎĐĘĚĞİĹĽŁŃŇŒŘŚŞŠŢŤŮŰŸŹŻŽҐ
    private const string LowerAccented = "\u00DF\u00E0-\u00F1\u0103\u0105\u0107\u010D\u010F\u0111\u0119\u011B\u011F\u013A\u013E\u0142\u0153\u0155\u015B\u015F\u0161\u0165\u00FC\u017A\u017C\u017E\u0491\uFB01\uFB02"; // ßà-ñăąćčďđęěğĺľłœŕśşšťüźżžґﬁﬂ
    private const string UpperCommon = "\u00DE\u0391-\u03A9\u0386\u0388\u0389\u038A\u038C\u038E\u038F\u03AA\u03AB\u0401-\u042F"; // ÞΑ-ΩΆΈΉΊΌΎΏΪΫЁ-Я
    private const string LowerCommon = "\u03B1-\u03C9\u03AC\u03AD\u03AE\u03AF\u03B0\u0430-\u045F"; // α-ωάέήίΰа-џ
    private const string Box = "\u2502\u250C\u2510\u2518\u251C\u2524\u252C\u253C\u2550-\u256C\u2580\u2584\u2588\u258C\u2590\u2591\u2592\u2593"; // │┌┐┘├┤┬┼═-╬▀▄█▌▐░▒▓

    private const string PythonWhitespace = "[\t\n\u000B\f\r\u001C-\u001F \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]";
    private const string PythonWordCharacter = @"[\p{L}\p{N}_]";

    // badness.BADNESS_RE, one alternative per line in ftfy's order.
    private const string BadnessPattern =
        $"[{C1}]" +
        $"|[{Bad}{LowerAccented}{UpperAccented}{Box}{StartPunctuation}{EndPunctuation}{Currency}{Numeric}][{Bad}]" +
        $"|[a-zA-Z][{LowerCommon}{UpperCommon}][{Bad}]" +
        $"|[{Bad}][{LowerAccented}{UpperAccented}{Box}{StartPunctuation}{EndPunctuation}{Currency}{Numeric}]" +
        $"|[{LowerAccented}{LowerCommon}{Box}{EndPunctuation}{Currency}{Numeric}][{UpperAccented}]" +
        $"|[{Box}{EndPunctuation}{Currency}{Numeric}][{LowerAccented}]" +
        $"|[{LowerAccented}{Box}{EndPunctuation}][{Currency}]" +
        $"|{PythonWhitespace}[{UpperAccented}][{Currency}]" +
        $"|[{UpperAccented}{Box}][{Numeric}]" +
        $"|[{LowerAccented}{UpperAccented}{Box}{Currency}{EndPunctuation}][{StartPunctuation}][{Numeric}]" +
        $"|[{LowerAccented}{UpperAccented}{Currency}{Numeric}{Box}][{EndPunctuation}][{StartPunctuation}]" +
        $"|[{Currency}{Numeric}{Box}][{StartPunctuation}]" +
        $"|[a-z][{UpperAccented}][{StartPunctuation}{Currency}]" +
        $"|[{Box}][{Kaomoji}]" +
        $"|[{LowerAccented}{UpperAccented}{Currency}{Numeric}{StartPunctuation}{EndPunctuation}][{Box}]" +
        $"|[{Box}][{EndPunctuation}]" +
        $"|[{LowerAccented}{UpperAccented}][{EndPunctuation}]{PythonWordCharacter}" +
        // The ligature œ when not followed by an unaccented Latin letter.
        "|[\u0152\u0153][^A-Za-z]" +
        // Common Windows-1252 2-character mojibake that isn't covered by the cases above.
        $"|[\u00C2\u00C3\u00CE\u00D0][\u20AC\u0160\u0161\u00A2\u00A3\u0178\u017E\u00A0\u00AD\u00AE\u00A9\u00B0\u00B7\u00BB{StartPunctuation}{EndPunctuation}\u2013\u2014\u00B4]" +
        "|\u00D7[\u00B2\u00B3]" +
        // Windows-1252 mojibake of Arabic words: four characters, since the 'common' ones are included.
        $"|[\u00D8\u00D9][{Common}{Currency}{Bad}{Numeric}{StartPunctuation}\u0178\u0160\u00AE\u00B0\u00B5\u00BB]" +
        $"[\u00D8\u00D9][{Common}{Currency}{Bad}{Numeric}{StartPunctuation}\u0178\u0160\u00AE\u00B0\u00B5\u00BB]" +
        // Windows-1252 mojibake that starts 3-character sequences for some South Asian alphabets.
        "|\u00E0[\u00B2\u00B5\u00B9\u00BC\u00BD\u00BE]" +
        // MacRoman mojibake that isn't covered by the cases above.
        "|\u221A[\u00B1\u2202\u2020\u2260\u00AE\u2122\u00B4\u2264\u2265\u00A5\u00B5\u00F8]" +
        "|\u2248[\u00B0\u00A2]" +
        "|\u201A\u00C4[\u00EC\u00EE\u00EF\u00F2\u00F4\u00FA\u00F9\u00FB\u2020\u00B0\u00A2\u03C0]" +
        "|\u201A[\u00E2\u00F3][\u00E0\u00E4\u00B0\u00EA]" +
        // Windows-1251 mojibake of characters in the U+2000 range.
        "|\u0432\u0402" +
        // Windows-1251 mojibake of Latin-1 characters and/or the Cyrillic alphabet (3 characters).
        $"|[\u0412\u0413\u0420\u0421][{C1}{Bad}{StartPunctuation}{EndPunctuation}{Currency}\u00B0\u00B5][\u0412\u0413\u0420\u0421]" +
        // Windows-1251 mojibake on top of Latin-1 mojibake of Windows-1252 characters.
        "|\u0413\u045E\u0412\u0402\u0412.[A-Za-z ]" +
        // Windows-1252 encodings of 'à' and 'á', as well as \xa0 itself.
        "|\u00C3[\u00A0\u00A1]" +
        $"|[a-z]{PythonWhitespace}?[\u00C3\u00C2] " +
        "|^[\u00C3\u00C2] " +
        // Â encoding the character that follows it.
        $"|[a-z.,?!{EndPunctuation}]\u00C2[ {StartPunctuation}{EndPunctuation}]" +
        // Windows-1253 mojibake of characters in the U+2000 range.
        "|\u03B2\u20AC[\u2122\u00A0\u0386\u00AD\u00AE\u00B0]" +
        // Windows-1253 mojibake of Latin-1 characters and/or the Greek alphabet.
        $"|[\u0392\u0393\u039E\u039F][{C1}{Bad}{StartPunctuation}{EndPunctuation}{Currency}\u00B0][\u0392\u0393\u039E\u039F]";

    // chardata.UTF8_CLUES: characters that single-byte code pages give for UTF-8 lead and
    // continuation bytes; a space may stand for a mangled U+00A0.
    private const string Utf8FirstOf2 =
        "\u00C2-\u00DF\u0102\u0106\u010C\u010E\u0110\u0118\u011A\u011E\u0130\u0139\u0143\u0147\u0150\u0158\u015E\u0162\u016E\u0170" +
        "\u0392-\u03A1\u03A3-\u03AF\u0412-\u042F";
    private const string Utf8FirstOf3 =
        "\u00E0-\u00EF\u0103\u0107\u010D\u010F\u0119\u011B\u013A\u0155\u03B0-\u03BF\u0430-\u043F";
    private const string Utf8FirstOf4 = "\u00F0\u00F3\u0111\u011F\u03C0\u03C3\u0440\u0443";
    private const string Utf8ContinuationLetters =
        "\u0080-\u00BF\u0104\u0105\u013D\u013E\u0141\u0142\u0152\u0153\u015A\u015B\u015E\u015F\u0160\u0161\u0164\u0165\u0178\u0179\u017A\u017B\u017C\u017D\u017E\u0192\u02C6\u02C7\u02D8\u02DB\u02DC\u02DD\u0384\u0385" +
        "\u0386\u0388\u0389\u038A\u038C\u038E\u038F\u0401-\u040C\u040E\u040F\u0451-\u045C\u045E\u045F\u0490\u0491";
    private const string Utf8Continuation = Utf8ContinuationLetters + "\u2013\u2014\u2015\u2018\u2019\u201A\u201C\u201D\u201E\u2020\u2021\u2022\u2026\u2030\u2039\u203A\u20AC\u2116\u2122 ";

    // Excludes spaces, dashes, quotation marks and ellipses, which may stand for themselves.
    private const string Utf8ContinuationStrict = Utf8ContinuationLetters + "\u2020\u2021\u2022\u2030\u2039\u203A\u20AC\u2116\u2122";

    // The lookbehind keeps a few characters inside a larger garble from being "fixed" alone.
    private const string Utf8SequencePattern =
        $"(?<![{Utf8ContinuationStrict}])" +
        $"(?:[{Utf8FirstOf2}][{Utf8Continuation}]|[{Utf8FirstOf3}][{Utf8Continuation}]{{2}}|[{Utf8FirstOf4}][{Utf8Continuation}]{{3}})+";

    /// <summary>Whether the text looks like it contains mojibake (ftfy's <c>is_bad</c>).</summary>
    public static bool IsBad(string text) => Badness().IsMatch(text);

    /// <summary>Runs of characters that look like UTF-8 decoded with a single-byte code page.</summary>
    [GeneratedRegex(Utf8SequencePattern, RegexOptions.CultureInvariant)]
    public static partial Regex Utf8Sequences();

    [GeneratedRegex(BadnessPattern, RegexOptions.CultureInvariant)]
    private static partial Regex Badness();
}
