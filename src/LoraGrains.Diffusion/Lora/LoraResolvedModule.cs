using LoraGrains.Torch.Safetensors;

namespace LoraGrains.Diffusion.Lora;

/// <summary>A module of a LoRA file matched to its target layer, its tensors not yet read.</summary>
internal sealed record LoraResolvedModule(LoraTargetModule Target, SafetensorsEntry Down, SafetensorsEntry Up, SafetensorsEntry? Alpha);
