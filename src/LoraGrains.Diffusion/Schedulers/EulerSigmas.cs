using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Schedulers;

/// <summary>What diffusers' Euler and Euler ancestral schedulers share: their timesteps, input scaling and x₀ prediction.</summary>
internal static class EulerSigmas
{
    /// <summary>The float32 timesteps for a spacing (before any Karras conversion), descending.</summary>
    public static float[] Timesteps(int numTrain, int steps, TimestepSpacing spacing, int stepsOffset) => spacing switch
    {
        TimestepSpacing.Linspace => NumPy.Linspace(0, numTrain - 1, steps).Select(t => (float)t).Reverse().ToArray(),
        // float32 array += steps_offset.
        TimestepSpacing.Leading => Enumerable.Range(0, steps).Reverse().Select(i => (float)((long)i * (numTrain / steps)) + stepsOffset).ToArray(),
        _ => NumPy.Arange(numTrain, 0, -((double)numTrain / steps)).Select(t => (float)NumPy.Round(t) - 1f).ToArray(),
    };

    /// <summary>The largest sigma, or √(σ_max² + 1) for "leading" spacing (float32, as diffusers' tensor).</summary>
    public static double InitNoiseSigma(float[] sigmas, TimestepSpacing spacing)
    {
        var max = sigmas.Max();
        return spacing is TimestepSpacing.Linspace or TimestepSpacing.Trailing ? max : MathF.Sqrt((max * max) + 1f);
    }

    /// <summary>sample / √(σ² + 1), the scalar in float32.</summary>
    public static Tensor ScaleModelInput(Tensor sample, float sigma) => sample / MathF.Sqrt((sigma * sigma) + 1f);

    /// <summary>The denoised sample x₀ from the model output at noise level <paramref name="sigma"/>.</summary>
    public static Tensor PredictOriginal(PredictionType type, Tensor modelOutput, Tensor sample, float sigma) => type switch
    {
        PredictionType.Epsilon => sample - (modelOutput * sigma),
        // denoised = model_output · c_out + input · c_skip
        PredictionType.VPrediction => (modelOutput * (-sigma / MathF.Sqrt((sigma * sigma) + 1f))) + (sample / ((sigma * sigma) + 1f)),
        _ => modelOutput.Clone(),
    };
}
