using LoraGrains.Diffusion.Schedulers;

namespace LoraGrains.Diffusion.Pipeline;

/// <summary>
/// A run stopped after <see cref="CompletedSteps"/> steps, as plain data (System.Text.Json serialisable):
/// latents, scheduler state and the generator's state. Resuming it with the same request on the same
/// device type yields the same image as an uninterrupted run.
/// </summary>
public sealed record GenerationCheckpoint
{
    /// <summary>Steps already taken.</summary>
    public required int CompletedSteps { get; init; }

    /// <summary>The latents after the last completed step.</summary>
    public required StateTensor Latents { get; init; }

    /// <summary>The scheduler's cross-step state.</summary>
    public required SchedulerState Scheduler { get; init; }

    /// <summary>The run generator's state (ancestral samplers draw from it every step).</summary>
    public required byte[] GeneratorState { get; init; }

    /// <summary>Adapters active at each completed step.</summary>
    public IReadOnlyList<IReadOnlyList<string>> ActiveAdapters { get; init; } = [];
}
