namespace LoraGrains.Diffusion.Checkpoints;

/// <summary>A tensor the architecture needs that the checkpoint lacks.</summary>
/// <param name="Component">"unet", "vae" or "text_encoder".</param>
/// <param name="Name">The diffusers/transformers name the model would load.</param>
/// <param name="SourceName">The name it would have had in the file.</param>
public sealed record MissingTensor(string Component, string Name, string SourceName);
