using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Pipeline;

/// <summary>Sees the latents of a run as they are produced (tests, checkpoints). Tensors are valid only during the call.</summary>
public interface IDenoiseObserver
{
    /// <summary>The initial latents, already multiplied by the scheduler's initial noise sigma.</summary>
    void OnInitialLatents(Tensor latents);

    /// <summary>Latents after step <paramref name="step"/> (0-based) with the adapters that were active.</summary>
    void OnStep(int step, double timestep, Tensor latents, IReadOnlyList<string> activeAdapters);

    /// <summary>A checkpoint after every <see cref="GenerationRequest.CheckpointEvery"/> steps (not after the last one).</summary>
    void OnCheckpoint(GenerationCheckpoint checkpoint)
    {
    }
}
