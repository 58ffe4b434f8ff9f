namespace LoraGrains.Diffusion.Models.TextEncoder;

/// <summary>The MLP activation of a CLIP text encoder (transformers' <c>hidden_act</c>).</summary>
public enum ClipActivation
{
    /// <summary><c>quick_gelu</c>: x·sigmoid(1.702x) (OpenAI CLIP, SD-1.x).</summary>
    QuickGelu,

    /// <summary><c>gelu</c>: the exact (erf) GELU (OpenCLIP models, e.g. SD-2.x).</summary>
    Gelu,
}
