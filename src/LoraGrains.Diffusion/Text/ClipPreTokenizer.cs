using System.Globalization;
using System.Text;

namespace LoraGrains.Diffusion.Text;

/// <summary>
/// Splits normalized text into the words CLIP's BPE runs on, exactly like transformers' pattern
/// <c>&lt;\|startoftext\|&gt;|&lt;\|endoftext\|&gt;|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+</c>
/// with IGNORECASE: the first alternative that matches wins, characters none matches are skipped.
/// </summary>
/// <remarks>
/// Written out by hand because .NET's <c>\p{L}</c> works on UTF-16 units, which would split
/// words at astral letters, and its case-insensitive matching differs from Python's.
/// </remarks>
internal static class ClipPreTokenizer
{
    private static readonly string[] s_literalWords =
        [ClipTokenizer.StartOfTextToken, ClipTokenizer.EndOfTextToken, "'s", "'t", "'re", "'ve", "'m", "'ll", "'d"];

    /// <summary>Returns the ranges of the words of <paramref name="text"/>, in order.</summary>
    public static List<Range> Split(string text)
    {
        var words = new List<Range>();
        int index = 0;
        while (index < text.Length)
        {
            int start = index;
            int literalLength = MatchLiteralWord(text, index);
            if (literalLength > 0)
            {
                index += literalLength;
            }
            else
            {
                CharacterClass characterClass = Classify(text, index, out int width);
                index += width;
                if (characterClass == CharacterClass.Unmatched)
                {
                    continue;
                }

                if (characterClass != CharacterClass.Number)
                {
                    // A letter run goes on while letters follow, a symbol run while symbols follow;
                    // a number is always a word of its own.
                    while (index < text.Length && Classify(text, index, out width) == characterClass)
                    {
                        index += width;
                    }
                }
            }

            words.Add(start..index);
        }

        return words;
    }

    private static int MatchLiteralWord(string text, int index)
    {
        if (text[index] is not ('<' or '\''))
        {
            return 0;
        }

        foreach (string literal in s_literalWords)
        {
            if (MatchesIgnoringCase(text.AsSpan(index), literal))
            {
                return literal.Length;
            }
        }

        return 0;
    }

    // The text is already lower case; under Python's IGNORECASE the only other character that
    // matches a letter of these literals is U+017F LATIN SMALL LETTER LONG S, which folds to 's'.
    private static bool MatchesIgnoringCase(ReadOnlySpan<char> text, string literal)
    {
        if (text.Length < literal.Length)
        {
            return false;
        }

        for (int i = 0; i < literal.Length; i++)
        {
            if (text[i] != literal[i] && !(literal[i] == 's' && text[i] == '\u017F'))
            {
                return false;
            }
        }

        return true;
    }

    private static CharacterClass Classify(string text, int index, out int width)
    {
        // Python's regex module matches U+0345 COMBINING GREEK YPOGEGRAMMENI neither as a letter
        // nor, because it case-folds to iota, by the negated class, so it is skipped like a space.
        if (ClipTextNormalizer.IsWhitespace(text[index]) || text[index] == '\u0345')
        {
            width = 1;
            return CharacterClass.Unmatched;
        }

        Rune.DecodeFromUtf16(text.AsSpan(index), out Rune rune, out width);
        return Rune.GetUnicodeCategory(rune) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => CharacterClass.Letter,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => CharacterClass.Number,
            _ => CharacterClass.Other,
        };
    }

    private enum CharacterClass
    {
        Unmatched,
        Letter,
        Number,
        Other,
    }
}
