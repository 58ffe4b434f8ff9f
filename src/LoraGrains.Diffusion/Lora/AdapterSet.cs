using LoraGrains.Diffusion.Models.Layers;

namespace LoraGrains.Diffusion.Lora;

/// <summary>
/// LoRA adapters attached, unmerged, to the layers of a pipeline's models (by component: "unet",
/// "text_encoder"). Activating a set of adapters touches only the layers that carry one, and each of
/// those only points at tensors that already exist, so it costs well under a millisecond even for a set never used
/// before; <see cref="Prepare"/> concatenates a set ahead of its run so its forwards compute one low-rank term per layer.
/// </summary>
public sealed class AdapterSet : IDisposable
{
    private readonly IReadOnlyDictionary<string, IAdaptableModel> components;
    private readonly Dictionary<string, LoraAdapter> adapters = new(StringComparer.Ordinal);
    private readonly List<string> order = [];
    private readonly Dictionary<string, IAdaptableLayer[]> carrying = new(StringComparer.Ordinal);
    private int preparedSetCapacity = LowRankAdapters.DefaultPreparedSetCapacity;

    /// <summary>Creates an empty set over the given model components.</summary>
    public AdapterSet(IReadOnlyDictionary<string, IAdaptableModel> components)
    {
        ArgumentNullException.ThrowIfNull(components);
        this.components = components;
    }

    /// <summary>Attached adapter ids in attach order.</summary>
    public IReadOnlyList<string> Ids => order;

    /// <summary>
    /// How many prepared (concatenated) sets each layer keeps; the least recently used are freed beyond it. Each costs a
    /// copy of its members' matrices.
    /// </summary>
    public int PreparedSetCapacity
    {
        get => preparedSetCapacity;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            preparedSetCapacity = value;
            foreach (var layer in components.Values.SelectMany(m => m.AdaptableLayers.Values)) layer.Adapters.PreparedSetCapacity = value;
        }
    }

    /// <summary>The adapter attached as <paramref name="id"/>.</summary>
    public LoraAdapter this[string id] => adapters[id];

    /// <summary>
    /// Attaches every module of <paramref name="adapter"/> to its layer. The adapter's tensors must already be on the
    /// models' device and dtype; the set does not take ownership of the adapter.
    /// </summary>
    /// <exception cref="InvalidOperationException">The id is taken, or a module targets a layer the models do not have.</exception>
    public void Attach(string id, LoraAdapter adapter)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        if (adapters.ContainsKey(id)) throw new InvalidOperationException($"an adapter is already attached as '{id}'");

        // Resolve every layer first so a bad adapter changes nothing.
        var targets = new List<(IAdaptableLayer Layer, LoraModule Module)>();
        foreach (var module in adapter.Modules)
        {
            if (!components.TryGetValue(module.Component, out var model) || !model.AdaptableLayers.TryGetValue(module.Path, out var layer))
                throw new InvalidOperationException($"adapter '{adapter.Name}': the model has no layer {module.Component}.{module.Path}");
            targets.Add((layer, module));
        }

        foreach (var (layer, module) in targets)
        {
            layer.Adapters.PreparedSetCapacity = preparedSetCapacity;
            layer.Adapters.Attach(id, module.Down, module.Up, module.Scale);
        }

        adapters[id] = adapter;
        order.Add(id);
        carrying.Clear();
    }

    /// <summary>Detaches an adapter from every layer (no-op when not attached).</summary>
    public void Detach(string id)
    {
        if (!adapters.Remove(id)) return;
        order.Remove(id);
        foreach (var layer in components.Values.SelectMany(m => m.AdaptableLayers.Values)) layer.Adapters.Detach(id);
        carrying.Clear();
    }

    /// <summary>
    /// Concatenates the matrices of <paramref name="adapterIds"/> in every layer of <paramref name="component"/> that
    /// carries two or more of them, so that activating this set (in any order, with any weights, uniform or segmented)
    /// computes one low-rank term per layer. Call when a run is admitted; activation never copies.
    /// </summary>
    public void Prepare(string component, IReadOnlyCollection<string> adapterIds)
    {
        ArgumentNullException.ThrowIfNull(adapterIds);
        foreach (var unknown in adapterIds.Where(a => !adapters.ContainsKey(a)))
            throw new InvalidOperationException($"adapter '{unknown}' is not attached");
        foreach (var layer in Layers(component)) layer.Adapters.Prepare(adapterIds);
    }

    /// <summary>Makes <paramref name="activation"/> current for <paramref name="component"/>. The caller keeps ownership of the activation and must keep it alive while it is current.</summary>
    public void Activate(string component, AdapterActivation activation)
    {
        ArgumentNullException.ThrowIfNull(activation);
        foreach (var unknown in activation.AdapterIds.Where(a => !adapters.ContainsKey(a)))
            throw new InvalidOperationException($"adapter '{unknown}' is not attached");
        foreach (var layer in Layers(component)) layer.Adapters.Activate(activation);
    }

    /// <summary>No adapter contributes to <paramref name="component"/>.</summary>
    public void Deactivate(string component)
    {
        foreach (var layer in Layers(component)) layer.Adapters.Deactivate();
    }

    /// <summary>Fuses the active adapters of <paramref name="component"/> into its weights (see <see cref="IAdaptableLayer.Fuse"/>).</summary>
    public void Fuse(string component)
    {
        foreach (var layer in Layers(component)) layer.Fuse();
    }

    /// <summary>Restores the base weights of <paramref name="component"/> bit-exactly.</summary>
    public void Unfuse(string component)
    {
        foreach (var layer in Layers(component)) layer.Unfuse();
    }

    // The layers carrying at least one adapter, cached until the next attach or detach: activation visits only these.
    private IAdaptableLayer[] Layers(string component)
    {
        if (carrying.TryGetValue(component, out var layers)) return layers;
        if (!components.TryGetValue(component, out var model)) throw new ArgumentException($"unknown component '{component}'", nameof(component));
        layers = [.. model.AdaptableLayers.Values.Where(l => l.Adapters.AttachedIds.Count > 0)];
        carrying[component] = layers;
        return layers;
    }

    /// <summary>Detaches everything (the adapters themselves are disposed by their owner).</summary>
    public void Dispose()
    {
        foreach (var id in order.ToList()) Detach(id);
    }
}
