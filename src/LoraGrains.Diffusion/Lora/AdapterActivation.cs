using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Lora;

/// <summary>
/// Which adapters are active for one forward pass and with what net scale (λ·wᵢ·αᵢ/rᵢ is split: the
/// per-module α/r stays with the layer, this holds λ·wᵢ). Either every batch row sees the same adapters
/// (<see cref="Uniform"/>), or each batch row sees exactly one adapter (<see cref="Segmented"/>: batched
/// Composite, one UNet forward for N adapters × {uncond, cond}).
/// </summary>
public sealed class AdapterActivation : IDisposable
{
    private readonly Dictionary<string, Tensor> scaleCache = new(StringComparer.Ordinal);

    private AdapterActivation(IReadOnlyList<string> adapterIds, IReadOnlyList<double> scales, int[]? rowAdapter)
    {
        AdapterIds = adapterIds;
        Scales = scales;
        RowAdapter = rowAdapter;
    }

    /// <summary>Active adapter ids, in order.</summary>
    public IReadOnlyList<string> AdapterIds { get; }

    /// <summary>Scale of each active adapter (λ·user weight, possibly scheduled), same order as <see cref="AdapterIds"/>.</summary>
    public IReadOnlyList<double> Scales { get; }

    /// <summary>For segmented activations: the index into <see cref="AdapterIds"/> each batch row uses; null when uniform.</summary>
    public IReadOnlyList<int>? RowAdapter { get; }

    /// <summary>True when each batch row has its own adapter.</summary>
    public bool IsSegmented => RowAdapter is not null;

    /// <summary>All listed adapters active on every batch row.</summary>
    public static AdapterActivation Uniform(IReadOnlyList<string> adapterIds, IReadOnlyList<double> scales)
    {
        Check(adapterIds, scales);
        return new AdapterActivation(adapterIds, scales, null);
    }

    /// <summary>Batch row b sees only adapter <c>rowAdapter[b]</c>.</summary>
    public static AdapterActivation Segmented(IReadOnlyList<string> adapterIds, IReadOnlyList<double> scales, IReadOnlyList<int> rowAdapter)
    {
        Check(adapterIds, scales);
        ArgumentNullException.ThrowIfNull(rowAdapter);
        if (rowAdapter.Any(i => i < 0 || i >= adapterIds.Count))
            throw new ArgumentOutOfRangeException(nameof(rowAdapter), "every row must name one of the active adapters");
        return new AdapterActivation(adapterIds, scales, [.. rowAdapter]);
    }

    private static void Check(IReadOnlyList<string> ids, IReadOnlyList<double> scales)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(scales);
        if (ids.Count != scales.Count) throw new ArgumentException($"{ids.Count} adapters but {scales.Count} scales");
        if (ids.Distinct(StringComparer.Ordinal).Count() != ids.Count) throw new ArgumentException("an adapter is listed twice");
        if (scales.Any(s => !double.IsFinite(s))) throw new ArgumentException("adapter scales must be finite");
    }

    /// <summary>
    /// The scale tensor a layer multiplies its low-rank activations with: [R] (uniform) or [B, R]
    /// (segmented), where the layer's concatenated rank columns belong to <paramref name="members"/>
    /// (indices into <see cref="AdapterIds"/>) with the given per-module α/r and ranks. Layers with the
    /// same signature share one tensor, so a change of the active set allocates only a few.
    /// </summary>
    internal Tensor ScaleFor(IReadOnlyList<int> members, IReadOnlyList<double> moduleScales, IReadOnlyList<long> ranks, Device device, DType dtype)
    {
        var key = string.Join(';', members.Select((m, i) => $"{m}:{moduleScales[i]:R}:{ranks[i]}")) + "|" + device + dtype;
        if (scaleCache.TryGetValue(key, out var cached)) return cached;

        var total = (int)ranks.Sum();
        var rows = RowAdapter?.Count ?? 1;
        var values = new float[rows * total];
        for (var row = 0; row < rows; row++)
        {
            var col = 0;
            for (var j = 0; j < members.Count; j++)
            {
                var on = RowAdapter is null || RowAdapter[row] == members[j];
                var s = on ? (float)(Scales[members[j]] * moduleScales[j]) : 0f;
                for (var r = 0; r < ranks[j]; r++) values[row * total + col++] = s;
            }
        }

        long[] shape = RowAdapter is null ? [total] : [rows, total];
        // Owned by this activation, never by a caller's scope.
        using var scope = TensorScope.Enter();
        var t = scope.Disown(Tensor.FromSpan<float>(values, shape, device, dtype));
        scaleCache[key] = t;
        return t;
    }

    /// <summary>Frees the scale tensors.</summary>
    public void Dispose()
    {
        foreach (var t in scaleCache.Values) t.Dispose();
        scaleCache.Clear();
    }
}
