namespace LoraGrains.Diffusion.Schedulers;

/// <summary>
/// The training noise schedule ᾱ_t (<c>alphas_cumprod</c>) from a config's <c>beta_schedule</c>, <c>beta_start</c>,
/// <c>beta_end</c>, <c>num_train_timesteps</c> and <c>trained_betas</c>, bit-identical to diffusers' float32 torch
/// tensors.
/// </summary>
internal static class NoiseSchedule
{
    /// <summary>ᾱ_t for t = 0 … <paramref name="numTrainTimesteps"/> − 1.</summary>
    public static float[] AlphasCumprod(SchedulerConfig config, string scheduler, int numTrainTimesteps)
    {
        var betas = Betas(config, scheduler, numTrainTimesteps);
        var result = new float[betas.Length];
        // torch.cumprod on the CPU accumulates float32 inputs in double and rounds each output.
        double product = 1;
        for (var i = 0; i < betas.Length; i++)
        {
            product *= 1f - betas[i];
            result[i] = (float)product;
        }

        return result;
    }

    private static float[] Betas(SchedulerConfig config, string scheduler, int n)
    {
        var trained = config.GetDoubleArray("trained_betas");
        if (trained is not null)
        {
            if (trained.Length != n)
            {
                throw new SchedulerConfigException("trained_betas", $"[{trained.Length} values]",
                    $"{scheduler}: trained_betas has {trained.Length} values but num_train_timesteps is {n}");
            }

            return trained.Select(b => CheckBeta(scheduler, "trained_betas", b)).Select(b => (float)b).ToArray();
        }

        var schedule = ConfigChoice.Read(config, scheduler, "beta_schedule", "linear",
            [("linear", 0), ("scaled_linear", 1), ("squaredcos_cap_v2", 2)], "sigmoid");
        var start = CheckBeta(scheduler, "beta_start", config.GetDouble("beta_start", 0.0001));
        var end = CheckBeta(scheduler, "beta_end", config.GetDouble("beta_end", 0.02));
        switch (schedule)
        {
            case 0:
                return TorchLinspace.Float32(start, end, n);
            case 1:
            {
                // Python's x ** 0.5 (libm pow), then torch.linspace(...) ** 2 in float32.
                var roots = TorchLinspace.Float32(Math.Pow(start, 0.5), Math.Pow(end, 0.5), n);
                return roots.Select(r => r * r).ToArray();
            }

            default:
                return SquaredCosine(n);
        }
    }

    // diffusers' betas_for_alpha_bar (cosine, max_beta 0.999): Python floats, then torch.tensor(..., float32).
    private static float[] SquaredCosine(int n)
    {
        static double AlphaBar(double t)
        {
            var c = Math.Cos((t + 0.008) / 1.008 * Math.PI / 2);
            return c * c;
        }

        var betas = new float[n];
        for (var i = 0; i < n; i++)
        {
            var t1 = (double)i / n;
            var t2 = (double)(i + 1) / n;
            betas[i] = (float)Math.Min(1 - (AlphaBar(t2) / AlphaBar(t1)), 0.999);
        }

        return betas;
    }

    private static double CheckBeta(string scheduler, string key, double value)
    {
        if (!double.IsFinite(value) || value is < 0 or >= 1)
            throw new SchedulerConfigException(key, value.ToString("R", System.Globalization.CultureInfo.InvariantCulture), $"{scheduler}: {key} must be in [0, 1), got {value}");
        return value;
    }
}
