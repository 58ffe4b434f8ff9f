namespace LoraGrains.Diffusion.Schedulers;

/// <summary>
/// Sigma (noise level) math shared by the k-diffusion style schedulers (Euler, Euler ancestral, DPM-Solver),
/// with diffusers' precision: the training sigmas in float32 (torch), the Karras ramp and the sigma→timestep
/// inversion in float64 (NumPy) against float32 log-sigmas.
/// </summary>
internal static class SigmaSchedule
{
    /// <summary>σ_t = √((1 − ᾱ_t)/ᾱ_t) for every training timestep, in float32 as diffusers' torch expression.</summary>
    public static float[] TrainingSigmas(float[] alphasCumprod) =>
        alphasCumprod.Select(a => MathF.Sqrt((1f - a) / a)).ToArray();

    /// <summary>
    /// The Karras et al. (2022) ramp from <paramref name="sigmaMax"/> down to <paramref name="sigmaMin"/> with ρ = 7
    /// (diffusers' <c>_convert_to_karras</c>).
    /// </summary>
    public static double[] Karras(double sigmaMin, double sigmaMax, int steps)
    {
        const double Rho = 7.0;
        var ramp = NumPy.Linspace(0, 1, steps);
        var minInvRho = Math.Pow(sigmaMin, 1 / Rho);
        var maxInvRho = Math.Pow(sigmaMax, 1 / Rho);
        var result = new double[steps];
        for (var i = 0; i < steps; i++) result[i] = Math.Pow(maxInvRho + (ramp[i] * (minInvRho - maxInvRho)), Rho);
        return result;
    }

    /// <summary>
    /// The (fractional) training timestep whose sigma is <paramref name="sigma"/>, interpolating linearly in
    /// log-sigma (diffusers' <c>_sigma_to_t</c>). <paramref name="logSigmas"/> are the float32 logs of the
    /// training sigmas, ascending.
    /// </summary>
    /// <remarks>
    /// The precision follows NumPy 1.x's value-based casting, which diffusers 0.26.3 ran on: the float64 log σ
    /// meets float32 arrays, so the distances and the weight w are float32, and only (1 − w)·low + w·high
    /// (float32 × int64 arrays) is float64. NumPy 2's promotion would keep them float64 and move some Karras
    /// timesteps by an ulp; the reference fixtures match the NumPy 1.x result.
    /// </remarks>
    public static double SigmaToT(double sigma, float[] logSigmas)
    {
        var logSigma = (float)Math.Log(Math.Max(sigma, 1e-10));
        // Index of the last log-sigma ≤ log σ (argmax of the cumulative count of dists ≥ 0), 0 when none, at most len − 2.
        var low = 0;
        for (var i = 0; i < logSigmas.Length; i++)
        {
            if (logSigma - logSigmas[i] >= 0) low = i;
        }

        low = Math.Min(low, logSigmas.Length - 2);
        var high = low + 1;
        var w = (logSigmas[low] - logSigma) / (logSigmas[low] - logSigmas[high]);
        w = Math.Clamp(w, 0f, 1f);
        return ((double)(1f - w) * low) + ((double)w * high);
    }
}
