using System.Text.Json;
using LoraGrains.Diffusion.Schedulers;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Tests.Schedulers;

/// <summary>Checkpoint/resume: a run saved mid-way and resumed in a fresh scheduler ends exactly where an uninterrupted one does.</summary>
public sealed class SchedulerStateTests
{
    public static TheoryData<string, int> Splits()
    {
        var data = new TheoryData<string, int>();
        foreach (var name in SchedulerReference.CaseNames)
        {
            // 1: PNDM's repeated first step pending; 2-3: partial multistep history; 7: full history; 19: before the last step.
            foreach (var split in new[] { 1, 2, 3, 7, 19 }) data.Add(name, split);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Splits))]
    public void Resuming_from_a_serialised_state_is_identical_to_an_uninterrupted_run(string name, int split)
    {
        var reference = SchedulerReference.Load(name);
        using var scope = TensorScope.Enter();

        // Uninterrupted, each step in its own scope as the pipeline runs it (the history must survive them).
        Tensor expected;
        using (var scheduler = reference.Create())
        using (var generator = reference.StepSeed is { } seed ? new Generator(seed) : null)
        {
            scheduler.SetTimesteps(SchedulerReference.Steps);
            expected = Run(scheduler, FakeModel.InitialSample(scheduler.InitNoiseSigma), 0, scheduler.Timesteps.Count, generator);
        }

        // Interrupted after `split` steps: everything the job checkpoints goes through JSON.
        string checkpoint;
        using (var scheduler = reference.Create())
        using (var generator = reference.StepSeed is { } seed ? new Generator(seed) : null)
        {
            scheduler.SetTimesteps(SchedulerReference.Steps);
            var latents = Run(scheduler, FakeModel.InitialSample(scheduler.InitNoiseSigma), 0, split, generator);
            checkpoint = JsonSerializer.Serialize(new Checkpoint(scheduler.SaveState(), StateTensor.From(latents), generator?.GetState()));
        }

        var restored = JsonSerializer.Deserialize<Checkpoint>(checkpoint)!;
        using var resumed = reference.Create();
        resumed.LoadState(restored.Scheduler);
        Assert.Equal(split, resumed.StepIndex);
        using var resumedGenerator = restored.Generator is { } state ? new Generator(0) : null;
        if (restored.Generator is { } bytes) resumedGenerator!.SetState(bytes);
        var actual = Run(resumed, restored.Latents.ToTensor(), split, resumed.Timesteps.Count, resumedGenerator);

        Assert.True(actual.ContentEquals(expected), $"{name} resumed after {split} steps differs by {TensorAssert.MaxAbsDiff(actual, expected):E2}");
    }

    [Fact]
    public void State_records_the_multistep_history()
    {
        var reference = SchedulerReference.Load("dpmpp_2m");
        using var scheduler = reference.Create();
        scheduler.SetTimesteps(SchedulerReference.Steps);
        using var scope = TensorScope.Enter();
        Run(scheduler, FakeModel.InitialSample(1.0), 0, 3, null);
        var state = scheduler.SaveState();
        Assert.Equal("DPMSolverMultistepScheduler", state.Scheduler);
        Assert.Equal(3, state.StepIndex);
        Assert.Equal(2, state.Integers["lower_order_nums"]);
        Assert.Equal(["model_outputs.0", "model_outputs.1"], state.Tensors.Keys.Order());
        Assert.Equal([1L, 4, 8, 8], state.Tensors["model_outputs.1"].Shape);
    }

    [Fact]
    public void Loading_a_state_into_another_scheduler_or_schedule_is_rejected()
    {
        using var scope = TensorScope.Enter();
        using var dpm = SchedulerKind.DpmPlusPlus2M.Create(SchedulerReference.SourceConfig);
        dpm.SetTimesteps(10);
        Run(dpm, FakeModel.InitialSample(1.0), 0, 2, null);
        var state = dpm.SaveState();

        using var pndm = SchedulerKind.Pndm.Create(SchedulerReference.SourceConfig);
        Assert.Contains("DPMSolverMultistepScheduler", Assert.Throws<ArgumentException>(() => pndm.LoadState(state)).Message);
        using var karras = SchedulerKind.DpmPlusPlus2MKarras.Create(SchedulerReference.SourceConfig);
        Assert.Contains("timesteps", Assert.Throws<ArgumentException>(() => karras.LoadState(state)).Message);
    }

    // Steps from..to with the fixture's fake model; returns the final sample (in the current scope).
    private static Tensor Run(Scheduler scheduler, Tensor sample, int from, int to, Generator? generator)
    {
        for (var i = from; i < to; i++)
        {
            using var stepScope = TensorScope.Enter();
            var eps = FakeModel.Eps(scheduler.ScaleModelInput(sample, i), scheduler.Timesteps[i]);
            sample = stepScope.MoveToOuter(scheduler.Step(eps, i, sample, generator));
        }

        return sample;
    }

    private sealed record Checkpoint(SchedulerState Scheduler, StateTensor Latents, byte[]? Generator);
}
