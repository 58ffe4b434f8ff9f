namespace LoraGrains.Diffusion.Schedulers;

/// <summary>What the denoising model predicts (diffusers' <c>prediction_type</c>).</summary>
public enum PredictionType
{
    /// <summary><c>"epsilon"</c>: the noise (SD 1.x).</summary>
    Epsilon,

    /// <summary><c>"v_prediction"</c>: the velocity √ᾱ·ε − √(1−ᾱ)·x₀ (SD 2.x 768-v models).</summary>
    VPrediction,

    /// <summary><c>"sample"</c>: the denoised sample x₀ directly.</summary>
    Sample,
}
