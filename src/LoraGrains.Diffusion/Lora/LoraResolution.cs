namespace LoraGrains.Diffusion.Lora;

/// <summary>The outcome of matching a LoRA file's keys to a model: its format, the matched modules and the keys left out.</summary>
internal sealed record LoraResolution(LoraFormat Format, IReadOnlyList<LoraResolvedModule> Modules, IReadOnlyList<LoraUnmatchedKey> Unmatched);
