namespace LoraGrains.Diffusion.Composition;

/// <summary>How several LoRA adapters are combined in one image (see ARCHITECTURE.md for the definitions).</summary>
public enum CompositionMethod
{
    /// <summary>All adapters active at once on every step: W + λ Σᵢ wᵢΔWᵢ (the baseline).</summary>
    Merge,

    /// <summary>One adapter per step, rotating every τ steps with the reference schedule.</summary>
    Switch,

    /// <summary>One guidance pass per adapter, averaged: ε = mean(εᵢᵘ) + g·(mean(εᵢᶜ) − mean(εᵢᵘ)).</summary>
    Composite,

    /// <summary>Prompt-conditioned weights wᵢ = softmax(cos(q, kᵢ)/T); the fused adapter Σ wᵢΔWᵢ for the whole run.</summary>
    Fusion,
}

/// <summary>Parsing of method names as users type them.</summary>
public static class CompositionMethods
{
    /// <summary>Names accepted by <see cref="Parse"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = ["merge", "switch", "composite", "fusion"];

    /// <summary>Parses merge, switch, composite or fusion (case-insensitive).</summary>
    public static CompositionMethod Parse(string name) => name?.Trim().ToLowerInvariant() switch
    {
        "merge" => CompositionMethod.Merge,
        "switch" => CompositionMethod.Switch,
        "composite" => CompositionMethod.Composite,
        "fusion" => CompositionMethod.Fusion,
        _ => throw new ArgumentException($"unknown composition method '{name}': expected one of {string.Join(", ", Names)}", nameof(name)),
    };

    /// <summary>The lower-case name.</summary>
    public static string Name(this CompositionMethod method) => method.ToString().ToLowerInvariant();
}
