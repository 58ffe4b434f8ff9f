namespace LoraGrains.Diffusion.Lora;

/// <summary>What loading a LoRA file did: how many modules it applies, per component, and which keys it left out.</summary>
public sealed class LoraLoadReport
{
    /// <summary>Creates a report.</summary>
    public LoraLoadReport(int totalKeys, IReadOnlyDictionary<string, int> modulesPerComponent, IReadOnlyList<LoraUnmatchedKey> unmatchedKeys)
    {
        TotalKeys = totalKeys;
        ModulesPerComponent = modulesPerComponent;
        UnmatchedKeys = unmatchedKeys;
        AppliedModules = modulesPerComponent.Values.Sum();
    }

    /// <summary>Number of tensors in the file.</summary>
    public int TotalKeys { get; }

    /// <summary>Number of modules (down/up pairs) matched to a layer of the model.</summary>
    public int AppliedModules { get; }

    /// <summary>Matched modules per component (<see cref="LoraComponent"/>).</summary>
    public IReadOnlyDictionary<string, int> ModulesPerComponent { get; }

    /// <summary>Keys that were not applied, with the reason, in ordinal key order.</summary>
    public IReadOnlyList<LoraUnmatchedKey> UnmatchedKeys { get; }

    /// <summary>One line: modules per component and the number of unmatched keys.</summary>
    public override string ToString() =>
        $"{AppliedModules} modules ({string.Join(", ", ModulesPerComponent.Select(p => $"{p.Key}: {p.Value}"))}), " +
        $"{UnmatchedKeys.Count} of {TotalKeys} keys unmatched";
}
