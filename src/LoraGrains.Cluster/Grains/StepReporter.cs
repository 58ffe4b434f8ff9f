using LoraGrains.Client;
using LoraGrains.Cluster.Runtime;
using LoraGrains.Diffusion.Pipeline;

namespace LoraGrains.Cluster.Grains;

/// <summary>Publishes each finished step of a run on the silo's progress board and in the step counter.</summary>
internal sealed class StepReporter(JobProgressBoard board, SiloMetrics metrics, Guid jobId, string siloId, int firstStep) : IProgress<GenerationProgress>
{
    private int _lastStep = firstStep;

    public void Report(GenerationProgress value)
    {
        metrics.Steps.Add(Math.Max(0, value.Step - _lastStep));
        _lastStep = value.Step;
        board.Report(new JobProgress(jobId, "running", value.Step, value.TotalSteps, siloId));
    }
}
