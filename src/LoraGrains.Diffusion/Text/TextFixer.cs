using System.Collections.Frozen;
using System.Text;
using System.Text.RegularExpressions;

namespace LoraGrains.Diffusion.Text;

/// <summary>
/// ftfy 6.1.1's <c>fix_text</c> with its default configuration, which is what transformers'
/// CLIPTokenizer applies to prompts when ftfy is installed.
/// </summary>
internal static partial class TextFixer
{
    private static readonly FrozenDictionary<char, string> s_characterWidth =
        CreateCharacterWidthMap().ToFrozenDictionary(entry => entry.Wide, entry => entry.Narrow);

    // chardata.LIGATURES: Latin ligatures and legacy digraphs, which are rarely meant as such.
    private static readonly FrozenDictionary<char, string> s_ligatures = new Dictionary<char, string>
    {
        ['\u0132'] = "IJ", ['\u0133'] = "ij", ['\u0149'] = "\u02BCn",
        ['\u01F1'] = "DZ", ['\u01F2'] = "Dz", ['\u01F3'] = "dz",
        ['\u01C4'] = "D\u017D", ['\u01C5'] = "D\u017E", ['\u01C6'] = "d\u017E",
        ['\u01C7'] = "LJ", ['\u01C8'] = "Lj", ['\u01C9'] = "lj",
        ['\u01CA'] = "NJ", ['\u01CB'] = "Nj", ['\u01CC'] = "nj",
        ['\uFB00'] = "ff", ['\uFB01'] = "fi", ['\uFB02'] = "fl", ['\uFB03'] = "ffi", ['\uFB04'] = "ffl",
        ['\uFB05'] = "\u017Ft", ['\uFB06'] = "st",
    }.ToFrozenDictionary();

    /// <summary>
    /// Fixes <paramref name="text"/> line by line, repeating every fix on a line until it no
    /// longer changes.
    /// </summary>
    /// <remarks>ftfy also splits lines longer than a million code points; prompts never are.</remarks>
    public static string FixText(string text)
    {
        var result = new StringBuilder(text.Length);
        bool unescapeHtml = true;
        int position = 0;
        while (position < text.Length)
        {
            int lineEnd = text.IndexOf('\n', position) + 1;
            if (lineEnd == 0)
            {
                lineEnd = text.Length;
            }

            string line = text[position..lineEnd];

            // A '<' suggests real HTML, so ftfy stops decoding entities from that line on.
            unescapeHtml &= !line.Contains('<');
            result.Append(FixLine(line, unescapeHtml));
            position = lineEnd;
        }

        return result.ToString();
    }

    // ftfy's fix_and_explain, in its order of fixes.
    private static string FixLine(string text, bool unescapeHtml)
    {
        while (true)
        {
            string original = text;
            if (unescapeHtml)
            {
                text = HtmlEntities.Unescape(text);
            }

            text = MojibakeRepair.FixEncoding(text);
            text = MojibakeRepair.FixC1Controls(text);
            text = Translate(text, s_ligatures);
            text = Translate(text, s_characterWidth);
            text = UncurlQuotes(text);
            text = FixLineBreaks(text);
            text = FixSurrogates(text);
            text = TerminalEscape().Replace(text, "");
            text = RemoveControlCharacters(text);
            text = UnicodeNormalizer.ToNfc(text);
            if (text == original)
            {
                return text;
            }
        }
    }

    private static string Translate(string text, FrozenDictionary<char, string> map)
    {
        int first = IndexOfMapped(text, map);
        if (first < 0)
        {
            return text;
        }

        var builder = new StringBuilder(text.Length + 8);
        builder.Append(text, 0, first);
        for (int i = first; i < text.Length; i++)
        {
            if (map.TryGetValue(text[i], out string? replacement))
            {
                builder.Append(replacement);
            }
            else
            {
                builder.Append(text[i]);
            }
        }

        return builder.ToString();
    }

    private static int IndexOfMapped(string text, FrozenDictionary<char, string> map)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] >= 0x80 && map.ContainsKey(text[i]))
            {
                return i;
            }
        }

        return -1;
    }

    // U+02BC and U+2018..U+201B become ', U+201C..U+201F become ".
    private static string UncurlQuotes(string text)
    {
        if (!text.AsSpan().ContainsAny('\u02BC', '\u2018', '\u2019') && !text.AsSpan().ContainsAnyInRange('\u201A', '\u201F'))
        {
            return text;
        }

        return string.Create(text.Length, text, static (destination, source) =>
        {
            for (int i = 0; i < source.Length; i++)
            {
                char c = source[i];
                destination[i] = c switch
                {
                    '\u02BC' or (>= '\u2018' and <= '\u201B') => '\'',
                    >= '\u201C' and <= '\u201F' => '"',
                    _ => c,
                };
            }
        });
    }

    private static string FixLineBreaks(string text) =>
        text.AsSpan().ContainsAny('\r', '\u2028', '\u2029') || text.Contains('\u0085')
            ? text.Replace("\r\n", "\n").Replace('\r', '\n').Replace('\u2028', '\n').Replace('\u2029', '\n').Replace('\u0085', '\n')
            : text;

    // Surrogate pairs are already single characters in UTF-16; lone halves become U+FFFD.
    private static string FixSurrogates(string text)
    {
        if (!text.AsSpan().ContainsAnyInRange('\uD800', '\uDFFF'))
        {
            return text;
        }

        var builder = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                builder.Append(c).Append(text[++i]);
            }
            else
            {
                builder.Append(char.IsSurrogate(c) ? '\uFFFD' : c);
            }
        }

        return builder.ToString();
    }

    // chardata.CONTROL_CHARS: C0 controls other than \t \n \f \r, DEL, deprecated Arabic format
    // characters, the byte-order mark and the interlinear annotation characters.
    private static bool IsRemovedControl(char c) =>
        c is (<= '\u0008') or '\u000B' or (>= '\u000E' and <= '\u001F') or '\u007F'
            or (>= '\u206A' and <= '\u206F') or '\uFEFF' or (>= '\uFFF9' and <= '\uFFFC');

    private static string RemoveControlCharacters(string text)
    {
        foreach (char c in text)
        {
            if (IsRemovedControl(c))
            {
                var builder = new StringBuilder(text.Length);
                foreach (char kept in text)
                {
                    if (!IsRemovedControl(kept))
                    {
                        builder.Append(kept);
                    }
                }

                return builder.ToString();
            }
        }

        return text;
    }

    // fixes.ANSI_RE: "ANSI" terminal escape sequences such as colour codes.
    [GeneratedRegex(@"\x1B\[(?:\d|;)*[a-zA-Z]", RegexOptions.CultureInvariant)]
    private static partial Regex TerminalEscape();
}
