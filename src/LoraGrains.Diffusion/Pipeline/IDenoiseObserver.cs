using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Pipeline;

/// <summary>Sees the latents of a run as they are produced (tests, checkpoints). Tensors are valid only during the call.</summary>
public interface IDenoiseObserver
{
    /// <summary>The initial latents, already multiplied by the scheduler's initial noise sigma.</summary>
    void OnInitialLatents(Tensor latents);

    /// <summary>Latents after step <paramref name="step"/> (0-based) with the adapters that were active.</summary>
    void OnStep(int step, double timestep, Tensor latents, IReadOnlyList<string> activeAdapters);

    /// <summary>
    /// Whether a checkpoint is wanted after the current step even off the <see cref="GenerationRequest.CheckpointEvery"/>
    /// grid (a draining silo asks for one so the next silo loses no work). Read after every step.
    /// </summary>
    bool CheckpointRequested => false;

    /// <summary>
    /// A checkpoint after every <see cref="GenerationRequest.CheckpointEvery"/> steps, and after any step at which
    /// <see cref="CheckpointRequested"/> was true (never after the last step).
    /// </summary>
    void OnCheckpoint(GenerationCheckpoint checkpoint)
    {
    }
}
