namespace LoraGrains.Diffusion.Lora;

/// <summary>
/// Looks target modules up by diffusers path and by kohya name. kohya names are module paths with every
/// '.' replaced by '_', which cannot be undone blindly (<c>to_out_0</c>, <c>ff_net_0_proj</c>,
/// <c>conv_shortcut</c>), so the table is built the other way: from each known path to its kohya name.
/// </summary>
internal sealed class LoraTargetIndex
{
    private readonly Dictionary<(string Component, string Path), LoraTargetModule> byPath = [];

    // A null value marks a kohya name two paths collapse to; no SD model has one, but it must not resolve silently.
    private readonly Dictionary<(string Component, string KohyaName), LoraTargetModule?> byKohyaName = [];
    private readonly HashSet<string> components = new(StringComparer.Ordinal);

    public LoraTargetIndex(IEnumerable<LoraTargetModule> targets)
    {
        ArgumentNullException.ThrowIfNull(targets);
        foreach (var t in targets)
        {
            if (!byPath.TryAdd((t.Component, t.Path), t))
                throw new ArgumentException($"target module '{t.QualifiedName}' is listed twice", nameof(targets));
            components.Add(t.Component);
            var kohya = (t.Component, KohyaName(t.Path));
            byKohyaName[kohya] = byKohyaName.ContainsKey(kohya) ? null : t;
        }
    }

    /// <summary>The kohya spelling of a module path.</summary>
    public static string KohyaName(string path) => path.Replace('.', '_');

    public bool HasComponent(string component) => components.Contains(component);

    public LoraTargetModule? FindByPath(string component, string path) => byPath.GetValueOrDefault((component, path));

    /// <summary>The target of kohya name <paramref name="kohyaName"/>; <paramref name="ambiguous"/> when several paths share it.</summary>
    public LoraTargetModule? FindByKohyaName(string component, string kohyaName, out bool ambiguous)
    {
        var found = byKohyaName.TryGetValue((component, kohyaName), out var target);
        ambiguous = found && target is null;
        return target;
    }
}
