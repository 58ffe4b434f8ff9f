using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Pipeline;

/// <summary>
/// Evaluates the UNet's noise prediction with exactly one adapter active somewhere else (a peer silo holding the
/// adapter), for sequential Composite. Returning <see langword="null"/> makes the pipeline evaluate it locally.
/// </summary>
public interface IAdapterDenoiser
{
    /// <summary>The noise prediction of <paramref name="sample"/> with only <paramref name="adapterId"/> active at <paramref name="scale"/>, or <see langword="null"/>.</summary>
    /// <param name="adapterId">The adapter (its id in the model's adapter set).</param>
    /// <param name="scale">Its effective scale at this step (user weight × schedule × LoRA scale).</param>
    /// <param name="sample">The scaled model input, both guidance branches on the batch axis.</param>
    /// <param name="timestep">The timestep (a scalar tensor).</param>
    /// <param name="textStates">The text encoder states of the branches.</param>
    Tensor? Denoise(string adapterId, double scale, Tensor sample, Tensor timestep, Tensor textStates);
}
