namespace LoraGrains.Diffusion.Schedulers;

/// <summary>
/// Everything a <see cref="Scheduler"/> carries from one step to the next, as plain data that System.Text.Json
/// serialises, so a run checkpointed mid-way resumes on another machine with identical results:
/// <see cref="Scheduler.LoadState"/> on a scheduler built from the same config continues exactly where
/// <see cref="Scheduler.SaveState"/> left off. The run's <see cref="LoraGrains.Torch.Generator"/> state (for
/// ancestral samplers) is checkpointed separately, with <see cref="LoraGrains.Torch.Generator.GetState"/>.
/// </summary>
public sealed record SchedulerState
{
    /// <summary>The scheduler class (diffusers' name, e.g. <c>DPMSolverMultistepScheduler</c>).</summary>
    public required string Scheduler { get; init; }

    /// <summary>The step count given to <see cref="Scheduler.SetTimesteps"/>.</summary>
    public required int NumInferenceSteps { get; init; }

    /// <summary>Steps already taken: the index the next <see cref="Scheduler.Step"/> call must pass.</summary>
    public required int StepIndex { get; init; }

    /// <summary>The schedule the steps were taken on; loading checks it against the new scheduler's, catching a config mismatch.</summary>
    public required IReadOnlyList<double> Timesteps { get; init; }

    /// <summary>Integer state by name (e.g. <c>lower_order_nums</c>).</summary>
    public IReadOnlyDictionary<string, long> Integers { get; init; } = new Dictionary<string, long>();

    /// <summary>Tensor state by name (e.g. <c>model_outputs.1</c>, <c>ets.0</c>, <c>cur_sample</c>).</summary>
    public IReadOnlyDictionary<string, StateTensor> Tensors { get; init; } = new Dictionary<string, StateTensor>();
}
