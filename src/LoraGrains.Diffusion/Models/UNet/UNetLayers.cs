using LoraGrains.Diffusion.Models.Layers;

namespace LoraGrains.Diffusion.Models.UNet;

/// <summary>
/// Builds the UNet's layers from a <see cref="ModelContext"/> and keeps track of them: every layer for disposal
/// (so a load that fails half-way frees what it had loaded), every Linear and Conv2d by module path for adapters.
/// </summary>
internal sealed class UNetLayers(ModelContext context) : IDisposable
{
    private readonly List<IDisposable> owned = [];
    private readonly Dictionary<string, IAdaptableLayer> adaptable = new(StringComparer.Ordinal);

    /// <summary>Where the weights come from.</summary>
    public ModelContext Context { get; } = context;

    /// <summary>Every Linear and Conv2d built so far, by diffusers module path.</summary>
    public IReadOnlyDictionary<string, IAdaptableLayer> Adaptable => adaptable;

    /// <summary>A Linear layer at <paramref name="name"/>.</summary>
    public Linear Linear(string name, long inFeatures, long outFeatures, bool bias = true) =>
        Adapt(Own(new Linear(Context, name, inFeatures, outFeatures, bias)));

    /// <summary>A Conv2d layer at <paramref name="name"/>.</summary>
    public Conv2d Conv2d(string name, long inChannels, long outChannels, int kernelSize, int stride = 1, int padding = 0) =>
        Adapt(Own(new Conv2d(Context, name, inChannels, outChannels, kernelSize, stride, padding)));

    /// <summary>A GroupNorm at <paramref name="name"/>.</summary>
    public GroupNorm GroupNorm(string name, int groups, long channels, double eps) => Own(new GroupNorm(Context, name, groups, channels, eps));

    /// <summary>A LayerNorm at <paramref name="name"/>.</summary>
    public LayerNorm LayerNorm(string name, long features, double eps = 1e-5) => Own(new LayerNorm(Context, name, features, eps));

    private T Own<T>(T layer) where T : IDisposable
    {
        owned.Add(layer);
        return layer;
    }

    private T Adapt<T>(T layer) where T : IAdaptableLayer
    {
        adaptable.Add(layer.Name, layer);
        return layer;
    }

    /// <summary>Frees every layer built.</summary>
    public void Dispose()
    {
        foreach (var layer in owned) layer.Dispose();
        owned.Clear();
        adaptable.Clear();
    }
}
