using System.Text;

namespace LoraGrains.Diffusion.Text;

/// <summary>
/// The text clean-up transformers' CLIPTokenizer does before splitting words when ftfy is
/// installed: <c>whitespace_clean(ftfy.fix_text(text)).lower()</c>.
/// </summary>
internal static class ClipTextNormalizer
{
    /// <summary>Fixes, collapses whitespace and lower-cases one piece of prompt text.</summary>
    public static string Normalize(string text) =>
        PythonLowercase.ToLower(CollapseWhitespace(TextFixer.FixText(text)));

    /// <summary>Python's <c>str.isspace()</c>, which is what <c>re</c>'s <c>\s</c> matches.</summary>
    public static bool IsWhitespace(char c) =>
        c is (>= '\t' and <= '\r') or (>= '\u001C' and <= ' ') or '\u0085' or '\u00A0' or '\u1680'
            or (>= '\u2000' and <= '\u200A') or '\u2028' or '\u2029' or '\u202F' or '\u205F' or '\u3000';

    // re.sub(r"\s+", " ", text).strip()
    private static string CollapseWhitespace(string text)
    {
        var builder = new StringBuilder(text.Length);
        bool pendingSpace = false;
        foreach (char c in text)
        {
            if (IsWhitespace(c))
            {
                pendingSpace = builder.Length > 0;
                continue;
            }

            if (pendingSpace)
            {
                builder.Append(' ');
                pendingSpace = false;
            }

            builder.Append(c);
        }

        return builder.ToString();
    }
}
