namespace LoraGrains.Diffusion.Pipeline;

/// <summary>Reported after every denoising step.</summary>
/// <param name="Step">Steps completed (1-based).</param>
/// <param name="TotalSteps">Steps in the run.</param>
/// <param name="Timestep">Timestep of the completed step.</param>
/// <param name="Elapsed">Time since the loop started.</param>
public readonly record struct GenerationProgress(int Step, int TotalSteps, double Timestep, TimeSpan Elapsed)
{
    /// <summary>Steps per second so far.</summary>
    public double StepsPerSecond => Elapsed.TotalSeconds > 0 ? Step / Elapsed.TotalSeconds : 0;
}
