using System.Text;

namespace LoraGrains.Diffusion.Text;

/// <summary>
/// CPython 3.11's <c>str.lower()</c>: full lower-case mapping (U+0130 becomes "i" + U+0307) and
/// the Final_Sigma rule, with CPython's Unicode 14.0 data so the result does not depend on the
/// globalization mode or ICU version of the machine.
/// </summary>
internal static partial class PythonLowercase
{
    private const int CapitalSigma = 0x03A3;
    private const int CapitalIWithDotAbove = 0x0130;

    private static readonly Dictionary<int, int> s_mappings = BuildMappings();

    /// <summary>Returns <paramref name="text"/> lower-cased exactly like CPython.</summary>
    public static string ToLower(string text)
    {
        if (!text.AsSpan().ContainsAnyInRange('A', 'Z') && Ascii.IsValid(text))
        {
            return text;
        }

        var builder = new StringBuilder(text.Length);
        int index = 0;
        while (index < text.Length)
        {
            Rune.DecodeFromUtf16(text.AsSpan(index), out Rune rune, out int consumed);
            int codePoint = rune.Value;
            if (codePoint == CapitalIWithDotAbove)
            {
                builder.Append("i\u0307");
            }
            else if (codePoint == CapitalSigma)
            {
                builder.Append(IsFinalSigma(text, index) ? '\u03C2' : '\u03C3');
            }
            else if (s_mappings.TryGetValue(codePoint, out int lower))
            {
                builder.Append(new Rune(lower));
            }
            else
            {
                builder.Append(text, index, consumed);
            }

            index += consumed;
        }

        return builder.ToString();
    }

    // CPython's handle_capital_sigma: final when a cased letter precedes (skipping case-ignorable
    // characters) and none follows.
    private static bool IsFinalSigma(string text, int sigmaIndex)
    {
        int before = sigmaIndex;
        int previous = -1;
        while (before > 0)
        {
            Rune.DecodeLastFromUtf16(text.AsSpan(0, before), out Rune rune, out int consumed);
            before -= consumed;
            if (!InRanges(CaseIgnorableRanges, rune.Value))
            {
                previous = rune.Value;
                break;
            }
        }

        if (previous < 0 || !InRanges(CasedRanges, previous))
        {
            return false;
        }

        int after = sigmaIndex + 1;
        while (after < text.Length)
        {
            Rune.DecodeFromUtf16(text.AsSpan(after), out Rune rune, out int consumed);
            after += consumed;
            if (!InRanges(CaseIgnorableRanges, rune.Value))
            {
                return !InRanges(CasedRanges, rune.Value);
            }
        }

        return true;
    }

    // Binary search in sorted [first, last] pairs.
    private static bool InRanges(ReadOnlySpan<int> ranges, int codePoint)
    {
        int low = 0, high = (ranges.Length / 2) - 1;
        while (low <= high)
        {
            int middle = (low + high) / 2;
            if (codePoint < ranges[2 * middle])
            {
                high = middle - 1;
            }
            else if (codePoint > ranges[(2 * middle) + 1])
            {
                low = middle + 1;
            }
            else
            {
                return true;
            }
        }

        return false;
    }

    private static Dictionary<int, int> BuildMappings()
    {
        ReadOnlySpan<int> table = LowercaseMappings;
        var mappings = new Dictionary<int, int>(table.Length / 2);
        for (int i = 0; i < table.Length; i += 2)
        {
            mappings.Add(table[i], table[i + 1]);
        }

        return mappings;
    }
}
