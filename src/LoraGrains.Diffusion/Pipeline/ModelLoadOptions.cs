using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Pipeline;

/// <summary>How to load a Stable Diffusion model.</summary>
public sealed record ModelLoadOptions
{
    /// <summary>Device the weights live on (CPU by default).</summary>
    public Device Device { get; init; } = Device.Cpu;

    /// <summary>Compute dtype; default float32 on the CPU and float16 on CUDA.</summary>
    public DType? DType { get; init; }

    /// <summary>A Hugging Face CLIP tokenizer folder; required for single-file checkpoints, which carry none.</summary>
    public string? TokenizerPath { get; init; }

    /// <summary>An LDM yaml describing a single-file checkpoint (else a sidecar yaml or the tensor shapes are used).</summary>
    public string? YamlPath { get; init; }

    /// <summary>The dtype actually used on <see cref="Device"/>.</summary>
    public DType EffectiveDType => DType ?? (Device.IsCuda ? Torch.DType.Float16 : Torch.DType.Float32);
}
