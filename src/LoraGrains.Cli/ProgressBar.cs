using LoraGrains.Diffusion.Pipeline;

namespace LoraGrains.Cli;

/// <summary>A one-line progress bar on standard error: steps done, a bar, and it/s.</summary>
internal sealed class ProgressBar : IProgress<GenerationProgress>
{
    private const int Width = 30;

    public void Report(GenerationProgress value)
    {
        var filled = value.TotalSteps == 0 ? Width : value.Step * Width / value.TotalSteps;
        var bar = new string('#', filled) + new string('.', Width - filled);
        Console.Error.Write($"\rstep {value.Step,4}/{value.TotalSteps} [{bar}] {value.StepsPerSecond,6:0.00} it/s");
        if (value.Step == value.TotalSteps) Console.Error.WriteLine();
    }
}
