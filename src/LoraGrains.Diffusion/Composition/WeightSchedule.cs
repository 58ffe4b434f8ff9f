using System.Globalization;

namespace LoraGrains.Diffusion.Composition;

/// <summary>
/// A per-step weight multiplier as keyframes: at step k of N the weight is that of the last keyframe whose
/// position is ≤ k/N (piecewise constant; before the first keyframe the first one's value holds).
/// "0=0;0.6=1" turns an adapter on for the last 40% of the steps.
/// </summary>
public sealed record WeightSchedule
{
    private WeightSchedule(IReadOnlyList<(double Position, double Weight)> keyframes) => Keyframes = keyframes;

    /// <summary>Keyframes sorted by position, positions in [0, 1].</summary>
    public IReadOnlyList<(double Position, double Weight)> Keyframes { get; }

    /// <summary>Creates a schedule from keyframes (position in [0, 1], finite weight).</summary>
    public static WeightSchedule From(IEnumerable<(double Position, double Weight)> keyframes)
    {
        ArgumentNullException.ThrowIfNull(keyframes);
        var list = keyframes.ToList();
        if (list.Count == 0) throw new ArgumentException("a weight schedule needs at least one keyframe");
        if (list.Count > 64) throw new ArgumentException($"a weight schedule has at most 64 keyframes, got {list.Count}");
        foreach (var (p, w) in list)
        {
            if (!double.IsFinite(p) || p < 0 || p > 1) throw new ArgumentException($"keyframe position {p} must be between 0 and 1");
            if (!double.IsFinite(w) || Math.Abs(w) > 10) throw new ArgumentException($"keyframe weight {w} must be between -10 and 10");
        }

        return new WeightSchedule([.. list.OrderBy(k => k.Position)]);
    }

    /// <summary>Parses <c>pos=weight;pos=weight…</c>, e.g. <c>0=0;0.6=1</c>.</summary>
    public static WeightSchedule Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var frames = new List<(double, double)>();
        foreach (var part in text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var kv = part.Split('=');
            if (kv.Length != 2
                || !double.TryParse(kv[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var p)
                || !double.TryParse(kv[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var w))
            {
                throw new FormatException($"weight schedule keyframe '{part}' must look like POSITION=WEIGHT, e.g. 0.6=1");
            }

            frames.Add((p, w));
        }

        return From(frames);
    }

    /// <summary>The multiplier at step <paramref name="step"/> of <paramref name="totalSteps"/>.</summary>
    public double At(int step, int totalSteps)
    {
        var position = totalSteps <= 0 ? 0 : (double)step / totalSteps;
        var value = Keyframes[0].Weight;
        foreach (var (p, w) in Keyframes)
        {
            if (p <= position + 1e-12) value = w;
            else break;
        }

        return value;
    }

    /// <inheritdoc />
    public override string ToString() =>
        string.Join(';', Keyframes.Select(k => $"{k.Position.ToString(CultureInfo.InvariantCulture)}={k.Weight.ToString(CultureInfo.InvariantCulture)}"));
}
