using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Schedulers;

/// <summary>
/// diffusers' <c>EulerDiscreteScheduler</c> (k-diffusion's Euler, "Euler" in A1111), optionally on the Karras
/// et al. sigma schedule (<c>use_karras_sigmas</c>). Works on σ-scaled samples: the model input is
/// sample/√(σ² + 1) and the timesteps are fractional.
/// </summary>
public sealed class EulerDiscreteScheduler : Scheduler
{
    private readonly float[] trainingSigmas;
    private readonly float[] logSigmas;
    private readonly double? sigmaMin;
    private readonly double? sigmaMax;
    private float[] sigmas;

    /// <summary>Builds the scheduler as <c>EulerDiscreteScheduler.from_config(config)</c>.</summary>
    /// <exception cref="SchedulerConfigException">A field is invalid or not supported.</exception>
    public EulerDiscreteScheduler(SchedulerConfig config)
        : base(config, "EulerDiscreteScheduler", TimestepSpacing.Linspace, PredictionType.Epsilon, PredictionType.VPrediction, PredictionType.Sample)
    {
        ConfigChoice.Read(config, Name, "interpolation_type", "linear", [("linear", 0)], "log_linear");
        var continuous = ConfigChoice.Read(config, Name, "timestep_type", "discrete", [("discrete", false), ("continuous", true)]);
        if (continuous && PredictionType == PredictionType.VPrediction)
            throw ConfigChoice.NotSupported(Name, "timestep_type", "continuous", "with prediction_type v_prediction (EDM timesteps)");
        UseKarrasSigmas = config.GetBool("use_karras_sigmas", false);
        sigmaMin = config.GetNullableDouble("sigma_min");
        sigmaMax = config.GetNullableDouble("sigma_max");
        trainingSigmas = SigmaSchedule.TrainingSigmas(AlphasCumprod);
        logSigmas = NumPy.Log(trainingSigmas);
        // Before SetTimesteps diffusers holds every training sigma (descending) plus 0.
        sigmas = [.. trainingSigmas.Reverse(), 0f];
    }

    /// <summary><c>use_karras_sigmas</c>: steps follow the Karras et al. ramp instead of the training timesteps.</summary>
    public bool UseKarrasSigmas { get; }

    /// <inheritdoc />
    public override IReadOnlyList<double> Sigmas => sigmas.Select(s => (double)s).ToArray();

    /// <inheritdoc />
    public override double InitNoiseSigma => EulerSigmas.InitNoiseSigma(sigmas, TimestepSpacing);

    /// <inheritdoc />
    protected override double[] ComputeTimesteps(int steps)
    {
        var timesteps = EulerSigmas.Timesteps(NumTrainTimesteps, steps, TimestepSpacing, StepsOffset);
        var stepSigmas = timesteps.Select(t => NumPy.Interp(t, trainingSigmas)).ToArray();
        if (UseKarrasSigmas)
        {
            stepSigmas = SigmaSchedule.Karras(sigmaMin ?? stepSigmas[^1], sigmaMax ?? stepSigmas[0], steps);
            timesteps = stepSigmas.Select(s => (float)SigmaSchedule.SigmaToT(s, logSigmas)).ToArray();
        }

        sigmas = [.. stepSigmas.Select(s => (float)s), 0f];
        return timesteps.Select(t => (double)t).ToArray();
    }

    /// <inheritdoc />
    protected override Tensor ScaleModelInputCore(Tensor sample, int stepIndex) =>
        EulerSigmas.ScaleModelInput(sample, sigmas[stepIndex]);

    /// <inheritdoc />
    protected override Tensor StepCore(Tensor modelOutput, int stepIndex, Tensor sample, Generator? generator)
    {
        // diffusers draws the churn noise every step even with s_churn = 0 (then unused); drawing it too keeps the
        // caller's generator in the same state as diffusers' after each step.
        if (generator is not null) Torch.Torch.Randn(modelOutput.Shape, generator, modelOutput.DType, modelOutput.Device);

        var sigma = sigmas[stepIndex];
        // Computed in float32 whatever the model's dtype, then cast back (diffusers' upcast).
        var x = sample.DType == DType.Float32 ? sample : sample.To(DType.Float32);
        var predOriginal = EulerSigmas.PredictOriginal(PredictionType, modelOutput, x, sigma);
        var derivative = (x - predOriginal) / sigma;
        var dt = sigmas[stepIndex + 1] - sigma;
        var prev = x + (derivative * dt);
        return prev.DType == modelOutput.DType ? prev : prev.To(modelOutput.DType);
    }
}
