namespace LoraGrains.Diffusion.Lora;

/// <summary>Options for <see cref="LoraAdapter.Load"/>.</summary>
public sealed record LoraLoadOptions
{
    /// <summary>The default options.</summary>
    public static LoraLoadOptions Default { get; } = new();

    /// <summary>The adapter's name; the file name without extension when null.</summary>
    public string? Name { get; init; }

    /// <summary>
    /// When true, any key that is not applied (names no layer, is not a LoRA weight) rejects the file.
    /// When false (the default) such keys are only reported, unless most modules are unmatched.
    /// </summary>
    public bool RejectUnmatchedKeys { get; init; }
}
