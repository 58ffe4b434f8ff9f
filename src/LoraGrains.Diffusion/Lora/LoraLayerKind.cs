namespace LoraGrains.Diffusion.Lora;

/// <summary>The kind of layer a LoRA module adapts.</summary>
public enum LoraLayerKind
{
    /// <summary>A fully connected layer, weight [out, in].</summary>
    Linear,

    /// <summary>A 2-D convolution, weight [out, in, k, k].</summary>
    Conv2d,
}
