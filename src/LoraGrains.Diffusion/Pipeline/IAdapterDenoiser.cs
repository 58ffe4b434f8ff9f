using LoraGrains.Diffusion.Schedulers;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Pipeline;

/// <summary>
/// Evaluates UNet noise predictions with exactly one adapter active somewhere else (peer silos holding the adapters),
/// for sequential Composite: every remote pass of a step is sent at once, and the pipeline computes the local ones
/// while they run.
/// </summary>
public interface IAdapterDenoiser
{
    /// <summary>
    /// Starts the passes that run elsewhere. Returns one entry per adapter: <see langword="null"/> when the pipeline
    /// should evaluate that adapter itself, else the pass in flight, whose result is the noise prediction or
    /// <see langword="null"/> when the peer could not do it after all (the pipeline then evaluates it itself).
    /// </summary>
    /// <param name="adapterIds">The step's adapters (their ids in the model's adapter set).</param>
    /// <param name="scales">Their effective scales at this step (user weight × schedule × LoRA scale).</param>
    /// <param name="latents">
    /// The scaled model input of one guidance branch (batch B). A pass evaluates it once per branch, stacked on the batch
    /// axis as the local pass does, so the same latents need not travel twice.
    /// </param>
    /// <param name="timestep">The timestep (a scalar tensor).</param>
    /// <param name="textStates">The text encoder states of the branches (batch branches·B): the noise prediction has this batch.</param>
    IReadOnlyList<Task<StateTensor?>?> Start(IReadOnlyList<string> adapterIds, IReadOnlyList<double> scales, Tensor latents, Tensor timestep, Tensor textStates);
}
