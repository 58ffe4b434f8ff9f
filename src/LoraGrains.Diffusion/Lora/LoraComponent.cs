namespace LoraGrains.Diffusion.Lora;

/// <summary>Names of the model components adapters target, as diffusers names the pipeline's sub-models.</summary>
public static class LoraComponent
{
    /// <summary>The denoising UNet.</summary>
    public const string Unet = "unet";

    /// <summary>The (first) CLIP text encoder.</summary>
    public const string TextEncoder = "text_encoder";

    /// <summary>The second text encoder of SDXL-style models (no SD 1.x/2.x model has one).</summary>
    public const string TextEncoder2 = "text_encoder_2";
}
