namespace LoraGrains.Diffusion.Models.Layers;

/// <summary>Builds the name → layer map an <see cref="IAdaptableModel"/> exposes.</summary>
internal static class AdaptableLayerIndex
{
    /// <summary>Indexes <paramref name="layers"/> by <see cref="IAdaptableLayer.Name"/>, skipping nulls (absent optional layers).</summary>
    /// <exception cref="InvalidOperationException">Two layers share a name (a construction bug).</exception>
    public static IReadOnlyDictionary<string, IAdaptableLayer> Create(IEnumerable<IAdaptableLayer?> layers)
    {
        var map = new Dictionary<string, IAdaptableLayer>(StringComparer.Ordinal);
        foreach (var layer in layers)
        {
            if (layer is null) continue;
            if (!map.TryAdd(layer.Name, layer)) throw new InvalidOperationException($"two layers are named '{layer.Name}'");
        }

        return map;
    }

    /// <summary>Indexes the layers of every child module followed by <paramref name="own"/>.</summary>
    public static IReadOnlyDictionary<string, IAdaptableLayer> Create(IEnumerable<IAdaptableModel?> children, params IAdaptableLayer?[] own) =>
        Create(children.Where(c => c is not null).SelectMany(c => c!.AdaptableLayers.Values).Concat(own));
}
