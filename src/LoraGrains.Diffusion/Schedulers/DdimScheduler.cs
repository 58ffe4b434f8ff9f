using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Schedulers;

/// <summary>
/// diffusers' <c>DDIMScheduler</c> with η = 0 (deterministic DDIM): x₀ is predicted from the model output, then
/// moved to the previous timestep along the predicted noise direction.
/// </summary>
public sealed class DdimScheduler : Scheduler
{
    private readonly float finalAlphaCumprod;
    private readonly bool clipSample;
    private readonly double clipSampleRange;

    /// <summary>Builds the scheduler as <c>DDIMScheduler.from_config(config)</c>.</summary>
    /// <exception cref="SchedulerConfigException">A field is invalid or not supported.</exception>
    public DdimScheduler(SchedulerConfig config)
        : base(config, "DDIMScheduler", TimestepSpacing.Leading, PredictionType.Epsilon, PredictionType.VPrediction, PredictionType.Sample)
    {
        if (config.GetBool("thresholding", false)) throw ConfigChoice.NotSupported(Name, "thresholding", "true");
        finalAlphaCumprod = config.GetBool("set_alpha_to_one", true) ? 1f : AlphasCumprod[0];
        clipSample = config.GetBool("clip_sample", true);
        clipSampleRange = config.GetDouble("clip_sample_range", 1.0);
    }

    /// <inheritdoc />
    public override double InitNoiseSigma => 1.0;

    /// <inheritdoc />
    protected override double[] ComputeTimesteps(int steps)
    {
        var n = NumTrainTimesteps;
        switch (TimestepSpacing)
        {
            case TimestepSpacing.Linspace:
                return NumPy.Linspace(0, n - 1, steps).Select(NumPy.Round).Reverse().ToArray();
            case TimestepSpacing.Leading:
            {
                var ratio = n / steps;
                return Enumerable.Range(0, steps).Reverse().Select(i => (double)(((long)i * ratio) + StepsOffset)).ToArray();
            }

            default:
                return NumPy.Arange(n, 0, -((double)n / steps)).Select(t => NumPy.Round(t) - 1).ToArray();
        }
    }

    /// <inheritdoc />
    protected override Tensor StepCore(Tensor modelOutput, int stepIndex, Tensor sample, Generator? generator)
    {
        var t = (int)Timesteps[stepIndex];
        // diffusers steps back by train // steps whatever the spacing.
        var prevT = t - (NumTrainTimesteps / NumInferenceSteps);
        // Scalars as diffusers' 0-dim float32 tensors.
        var alphaT = AlphaCumprodAt(t);
        var alphaPrev = prevT >= 0 ? AlphaCumprodAt(prevT) : finalAlphaCumprod;
        var betaT = 1f - alphaT;

        Tensor predOriginal, predEpsilon;
        switch (PredictionType)
        {
            case PredictionType.Epsilon:
                predOriginal = (sample - (modelOutput * MathF.Sqrt(betaT))) / MathF.Sqrt(alphaT);
                predEpsilon = modelOutput;
                break;
            case PredictionType.Sample:
                predOriginal = modelOutput;
                predEpsilon = (sample - (predOriginal * MathF.Sqrt(alphaT))) / MathF.Sqrt(betaT);
                break;
            default:
                predOriginal = (sample * MathF.Sqrt(alphaT)) - (modelOutput * MathF.Sqrt(betaT));
                predEpsilon = (modelOutput * MathF.Sqrt(alphaT)) + (sample * MathF.Sqrt(betaT));
                break;
        }

        if (clipSample) predOriginal = predOriginal.Clamp(-clipSampleRange, clipSampleRange);

        // η = 0: σ_t = 0, so the direction coefficient is √(1 − ᾱ_prev − 0).
        var direction = predEpsilon * MathF.Sqrt(1f - alphaPrev - 0f);
        return (predOriginal * MathF.Sqrt(alphaPrev)) + direction;
    }
}
