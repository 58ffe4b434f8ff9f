using System.Text;

namespace LoraGrains.Diffusion.Text;

/// <summary>
/// Unicode NFC with CPython 3.11's data (Unicode 14.0). The BCL cannot be used: string.Normalize
/// is a no-op under InvariantGlobalization, and with ICU the result would follow whatever ICU
/// version the machine has.
/// </summary>
internal static partial class UnicodeNormalizer
{
    // Hangul syllables are composed algorithmically (Unicode chapter 3.12).
    private const int HangulSBase = 0xAC00, HangulLBase = 0x1100, HangulVBase = 0x1161, HangulTBase = 0x11A7;
    private const int HangulLCount = 19, HangulVCount = 21, HangulTCount = 28;
    private const int HangulNCount = HangulVCount * HangulTCount, HangulSCount = HangulLCount * HangulNCount;

    // Nothing below U+0300 decomposes or combines, so such text is already NFC.
    private const char FirstNonTrivial = '\u0300';

    private static readonly Dictionary<int, byte> s_combiningClasses = BuildCombiningClasses();
    private static readonly Dictionary<int, (int First, int Second)> s_decompositions = BuildDecompositions();
    private static readonly Dictionary<long, int> s_compositions = BuildCompositions();

    /// <summary>Returns the NFC form of <paramref name="text"/>.</summary>
    public static string ToNfc(string text)
    {
        if (!text.AsSpan().ContainsAnyInRange(FirstNonTrivial, char.MaxValue))
        {
            return text;
        }

        var codePoints = new List<int>(text.Length);
        foreach (Rune rune in text.EnumerateRunes())
        {
            Decompose(rune.Value, codePoints);
        }

        SortCombiningMarks(codePoints);
        Compose(codePoints);

        var builder = new StringBuilder(text.Length);
        foreach (int codePoint in codePoints)
        {
            builder.Append(new Rune(codePoint));
        }

        string result = builder.ToString();
        return result == text ? text : result;
    }

    private static int CombiningClass(int codePoint) =>
        s_combiningClasses.TryGetValue(codePoint, out byte value) ? value : 0;

    private static void Decompose(int codePoint, List<int> output)
    {
        int syllable = codePoint - HangulSBase;
        if (syllable is >= 0 and < HangulSCount)
        {
            output.Add(HangulLBase + (syllable / HangulNCount));
            output.Add(HangulVBase + (syllable % HangulNCount / HangulTCount));
            if (syllable % HangulTCount != 0)
            {
                output.Add(HangulTBase + (syllable % HangulTCount));
            }

            return;
        }

        if (s_decompositions.TryGetValue(codePoint, out var parts))
        {
            Decompose(parts.First, output);
            if (parts.Second != 0)
            {
                Decompose(parts.Second, output);
            }

            return;
        }

        output.Add(codePoint);
    }

    // Canonical ordering: a stable sort of every run of non-starters by combining class.
    private static void SortCombiningMarks(List<int> codePoints)
    {
        for (int i = 1; i < codePoints.Count; i++)
        {
            int current = codePoints[i];
            int currentClass = CombiningClass(current);
            if (currentClass == 0)
            {
                continue;
            }

            int j = i - 1;
            while (j >= 0 && CombiningClass(codePoints[j]) > currentClass)
            {
                codePoints[j + 1] = codePoints[j];
                j--;
            }

            codePoints[j + 1] = current;
        }
    }

    // Canonical composition: each character joins the last starter unless a character between
    // them has class 0 or a class at least its own ("blocked").
    private static void Compose(List<int> codePoints)
    {
        int starterIndex = -1;
        int lastClass = 0;
        int count = 0;
        foreach (int codePoint in codePoints.ToArray())
        {
            int combiningClass = CombiningClass(codePoint);
            if (starterIndex >= 0)
            {
                bool adjacent = count - 1 == starterIndex;
                bool blocked = !adjacent && (lastClass == 0 || lastClass >= combiningClass);
                if (!blocked && TryCompose(codePoints[starterIndex], codePoint, out int composite))
                {
                    codePoints[starterIndex] = composite;
                    continue;
                }
            }

            if (combiningClass == 0)
            {
                starterIndex = count;
            }

            lastClass = combiningClass;
            codePoints[count++] = codePoint;
        }

        codePoints.RemoveRange(count, codePoints.Count - count);
    }

    private static bool TryCompose(int first, int second, out int composite)
    {
        int leading = first - HangulLBase, vowel = second - HangulVBase;
        if (leading is >= 0 and < HangulLCount && vowel is >= 0 and < HangulVCount)
        {
            composite = HangulSBase + (((leading * HangulVCount) + vowel) * HangulTCount);
            return true;
        }

        int syllable = first - HangulSBase, trailing = second - HangulTBase;
        if (syllable is >= 0 and < HangulSCount && syllable % HangulTCount == 0 && trailing is > 0 and < HangulTCount)
        {
            composite = first + trailing;
            return true;
        }

        return s_compositions.TryGetValue(PairKey(first, second), out composite);
    }

    private static long PairKey(int first, int second) => ((long)first << 21) | (uint)second;

    private static Dictionary<int, byte> BuildCombiningClasses()
    {
        ReadOnlySpan<int> ranges = CombiningClassRanges;
        var classes = new Dictionary<int, byte>();
        for (int i = 0; i < ranges.Length; i += 3)
        {
            for (int codePoint = ranges[i]; codePoint <= ranges[i + 1]; codePoint++)
            {
                classes.Add(codePoint, (byte)ranges[i + 2]);
            }
        }

        return classes;
    }

    private static Dictionary<int, (int, int)> BuildDecompositions()
    {
        ReadOnlySpan<int> table = CanonicalDecompositions;
        var decompositions = new Dictionary<int, (int, int)>(table.Length / 3);
        for (int i = 0; i < table.Length; i += 3)
        {
            decompositions.Add(table[i], (table[i + 1], table[i + 2]));
        }

        return decompositions;
    }

    private static Dictionary<long, int> BuildCompositions()
    {
        ReadOnlySpan<int> table = PrimaryCompositions;
        var compositions = new Dictionary<long, int>(table.Length / 3);
        for (int i = 0; i < table.Length; i += 3)
        {
            compositions.Add(PairKey(table[i], table[i + 1]), table[i + 2]);
        }

        return compositions;
    }
}
