namespace LoraGrains.Diffusion.Composition;

/// <summary>Attention-based Fusion: wᵢ = softmax(cos(q, kᵢ)/T) over the adapters' keys.</summary>
public static class FusionWeights
{
    /// <summary>The weights for query <paramref name="query"/> and one key per adapter.</summary>
    public static double[] Compute(ReadOnlySpan<float> query, IReadOnlyList<float[]> keys, double temperature)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (!(temperature > 0) || !double.IsFinite(temperature))
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "fusion temperature must be a positive number");
        if (keys.Count == 0) return [];
        var logits = new double[keys.Count];
        for (var i = 0; i < keys.Count; i++)
        {
            if (keys[i].Length != query.Length) throw new ArgumentException($"key {i} has {keys[i].Length} dimensions, query has {query.Length}");
            logits[i] = Cosine(query, keys[i]) / temperature;
        }

        var max = logits.Max();
        var exp = logits.Select(l => Math.Exp(l - max)).ToArray();
        var sum = exp.Sum();
        return [.. exp.Select(e => e / sum)];
    }

    /// <summary>Cosine similarity (0 when either vector is zero).</summary>
    public static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }

        return na == 0 || nb == 0 ? 0 : dot / Math.Sqrt(na * nb);
    }
}
