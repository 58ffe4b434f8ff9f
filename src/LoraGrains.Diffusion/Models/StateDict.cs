using LoraGrains.Torch;
using LoraGrains.Torch.Safetensors;

namespace LoraGrains.Diffusion.Models;

/// <summary>
/// The weights of one model component by (diffusers) name, still memory-mapped: each tensor is copied
/// to its device only when a layer loads it. Records which names were loaded so unused and missing keys
/// can be reported. A name may map to a stored tensor of another name or shape (single-file checkpoints
/// store some 1×1-conv weights where diffusers has linear ones), as long as the element count matches.
/// </summary>
public sealed class StateDict
{
    private readonly Dictionary<string, Stored> tensors = new(StringComparer.Ordinal);
    private readonly HashSet<string> loaded = new(StringComparer.Ordinal);

    // Makes tensors for names not stored (synthetic state dicts): (name, shape, device, dtype) → tensor.
    private readonly Func<string, long[], Device, DType, Tensor>? synthesize;

    private sealed record Stored(SafetensorsFile File, SafetensorsEntry Entry, long[] Shape);

    /// <summary>Creates an empty state dict for the component called <paramref name="component"/> (used in messages).</summary>
    public StateDict(string component) => Component = component;

    private StateDict(string component, Func<string, long[], Device, DType, Tensor> synthesize)
        : this(component) => this.synthesize = synthesize;

    /// <summary>
    /// A state dict that answers every load of a name it does not store by calling <paramref name="source"/> with
    /// the name and the shape the layer expects, so a model can be built without a weights file (random weights
    /// for benchmarks and tests). Such tensors never count as missing or unused.
    /// </summary>
    public static StateDict Synthetic(string component, Func<string, long[], Device, DType, Tensor> source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new StateDict(component, source);
    }

    /// <summary>Component name used in error messages (e.g. "unet").</summary>
    public string Component { get; }

    /// <summary>All names.</summary>
    public IEnumerable<string> Names => tensors.Keys;

    /// <summary>Number of tensors.</summary>
    public int Count => tensors.Count;

    /// <summary>Names never loaded so far (after a model is built: keys the model did not use).</summary>
    public IEnumerable<string> Unused => tensors.Keys.Where(k => !loaded.Contains(k)).Order(StringComparer.Ordinal);

    /// <summary>Every tensor of <paramref name="file"/> under its own name, with an optional prefix stripped (entries without it are skipped).</summary>
    public static StateDict FromFile(string component, SafetensorsFile file, string stripPrefix = "")
    {
        ArgumentNullException.ThrowIfNull(file);
        var sd = new StateDict(component);
        foreach (var (name, entry) in file.Entries)
        {
            if (!name.StartsWith(stripPrefix, StringComparison.Ordinal)) continue;
            sd.Add(name[stripPrefix.Length..], file, entry);
        }

        return sd;
    }

    /// <summary>Adds <paramref name="entry"/> of <paramref name="file"/> as <paramref name="name"/>, optionally viewed with another shape of the same element count.</summary>
    public void Add(string name, SafetensorsFile file, SafetensorsEntry entry, long[]? shape = null)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var s = shape ?? entry.Shape;
        if (s.Aggregate(1L, (a, b) => a * b) != entry.NumEl)
            throw new ModelLoadException($"{Component}: cannot view '{entry.Name}' [{string.Join(", ", entry.Shape)}] as [{string.Join(", ", s)}]");
        if (!tensors.TryAdd(name, new Stored(file, entry, s)))
            throw new ModelLoadException($"{Component}: two tensors map to '{name}'");
    }

    /// <summary>True when <paramref name="name"/> is present.</summary>
    public bool Contains(string name) => tensors.ContainsKey(name);

    /// <summary>The stored shape of <paramref name="name"/>, or null when absent.</summary>
    public long[]? ShapeOf(string name) => tensors.TryGetValue(name, out var s) ? s.Shape : null;

    /// <summary>
    /// Copies <paramref name="name"/> to <paramref name="device"/> as <paramref name="dtype"/>, checking its shape
    /// against <paramref name="expectedShape"/> when given.
    /// </summary>
    /// <exception cref="ModelLoadException">The tensor is missing or has another shape.</exception>
    public Tensor Load(string name, Device device, DType dtype, params long[]? expectedShape)
    {
        if (!tensors.TryGetValue(name, out var stored))
        {
            if (synthesize is not null && expectedShape is { Length: > 0 }) return synthesize(name, expectedShape, device, dtype);
            throw new ModelLoadException($"{Component}: missing tensor '{name}'");
        }

        if (expectedShape is { Length: > 0 } && !stored.Shape.AsSpan().SequenceEqual(expectedShape))
        {
            throw new ModelLoadException(
                $"{Component}: tensor '{name}' has shape [{string.Join(", ", stored.Shape)}], expected [{string.Join(", ", expectedShape)}]");
        }

        if (!stored.Entry.DType.IsFloatingPoint() && dtype.IsFloatingPoint())
            throw new ModelLoadException($"{Component}: tensor '{name}' is {stored.Entry.DType}, expected floating point");
        loaded.Add(name);
        var t = stored.File.Load(stored.Entry, device, dtype);
        if (stored.Shape.AsSpan().SequenceEqual(stored.Entry.Shape)) return t;
        using (t)
        {
            return t.Reshape(stored.Shape);
        }
    }
}
