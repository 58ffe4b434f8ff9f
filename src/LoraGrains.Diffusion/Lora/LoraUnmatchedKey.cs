namespace LoraGrains.Diffusion.Lora;

/// <summary>A tensor of a LoRA file that was not applied, and why.</summary>
/// <param name="Key">The tensor name in the file.</param>
/// <param name="Reason">Why it was left out, e.g. that it names no layer of this model.</param>
public sealed record LoraUnmatchedKey(string Key, string Reason);
