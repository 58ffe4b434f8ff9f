using System.Collections.Frozen;
using System.Text;
using System.Text.RegularExpressions;

namespace LoraGrains.Diffusion.Text;

/// <summary>
/// ftfy's <c>unescape_html</c>: decodes only complete entities ending in ';' (the HTML5 names,
/// upper-cased variants of lower-case names, and numeric references), so informal text such as
/// "this&amp;not that" is left alone.
/// </summary>
internal static partial class HtmlEntities
{
    private static readonly FrozenDictionary<string, string> s_named =
        CreateNamedEntities().ToFrozenDictionary(entry => entry.Entity, entry => entry.Text, StringComparer.Ordinal);

    /// <summary>Replaces every entity ftfy would decode.</summary>
    public static string Unescape(string text) =>
        text.Contains('&') ? EntityPattern().Replace(text, match => Decode(match.Value)) : text;

    [GeneratedRegex("&#?[0-9A-Za-z]{1,24};", RegexOptions.CultureInvariant)]
    private static partial Regex EntityPattern();

    private static string Decode(string entity)
    {
        if (s_named.TryGetValue(entity, out string? text))
        {
            return text;
        }

        if (!entity.StartsWith("&#", StringComparison.Ordinal))
        {
            return entity;
        }

        // ftfy keeps the entity unless html.unescape consumed it whole; a decoded ';' also counts
        // as not consumed.
        string? decoded = DecodeCharacterReference(entity.AsSpan(2, entity.Length - 3));
        return decoded is null || decoded.Contains(';') ? entity : decoded;
    }

    // Python's html.unescape for "&#digits;" or "&#xhex;"; null when it would not consume all of it.
    private static string? DecodeCharacterReference(ReadOnlySpan<char> reference)
    {
        bool hex = reference[0] is 'x' or 'X';
        ReadOnlySpan<char> digits = hex ? reference[1..] : reference;
        if (digits.IsEmpty)
        {
            return null;
        }

        const int TooLarge = 0x110000;
        int value = 0;
        foreach (char digit in digits)
        {
            int digitValue = char.IsAsciiDigit(digit) ? digit - '0'
                : hex && char.IsAsciiHexDigit(digit) ? (digit | 0x20) - 'a' + 10
                : -1;
            if (digitValue < 0)
            {
                return null;
            }

            value = Math.Min((value * (hex ? 16 : 10)) + digitValue, TooLarge);
        }

        return value switch
        {
            0 => "\uFFFD",
            0x0D => "\r",
            >= 0x80 and <= 0x9F => SingleByteEncoding.Windows1252.Decode((byte)value).ToString(),
            >= 0xD800 and <= 0xDFFF or >= TooLarge => "\uFFFD",
            (>= 0x01 and <= 0x08) or 0x0B or (>= 0x0E and <= 0x1F) or 0x7F or (>= 0xFDD0 and <= 0xFDEF) => "",
            _ when (value & 0xFFFE) == 0xFFFE => "",
            _ => new Rune(value).ToString(),
        };
    }
}
