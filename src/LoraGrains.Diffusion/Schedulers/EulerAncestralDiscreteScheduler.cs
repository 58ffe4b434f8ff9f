using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Schedulers;

/// <summary>
/// diffusers' <c>EulerAncestralDiscreteScheduler</c> ("Euler a" in A1111): an Euler step down to σ_down followed
/// by fresh noise of scale σ_up, drawn as one <c>randn(shape)</c> per step from the run's generator exactly as
/// diffusers draws it, so a seed reproduces diffusers' image.
/// </summary>
public sealed class EulerAncestralDiscreteScheduler : Scheduler
{
    private readonly float[] trainingSigmas;
    private float[] sigmas;

    /// <summary>Builds the scheduler as <c>EulerAncestralDiscreteScheduler.from_config(config)</c>.</summary>
    /// <exception cref="SchedulerConfigException">A field is invalid or not supported.</exception>
    public EulerAncestralDiscreteScheduler(SchedulerConfig config)
        : base(config, "EulerAncestralDiscreteScheduler", TimestepSpacing.Linspace, PredictionType.Epsilon, PredictionType.VPrediction)
    {
        trainingSigmas = SigmaSchedule.TrainingSigmas(AlphasCumprod);
        sigmas = [.. trainingSigmas.Reverse(), 0f];
    }

    /// <inheritdoc />
    public override IReadOnlyList<double> Sigmas => sigmas.Select(s => (double)s).ToArray();

    /// <inheritdoc />
    public override double InitNoiseSigma => EulerSigmas.InitNoiseSigma(sigmas, TimestepSpacing);

    /// <inheritdoc />
    protected override double[] ComputeTimesteps(int steps)
    {
        var timesteps = EulerSigmas.Timesteps(NumTrainTimesteps, steps, TimestepSpacing, StepsOffset);
        sigmas = [.. timesteps.Select(t => (float)NumPy.Interp(t, trainingSigmas)), 0f];
        return timesteps.Select(t => (double)t).ToArray();
    }

    /// <inheritdoc />
    protected override Tensor ScaleModelInputCore(Tensor sample, int stepIndex) =>
        EulerSigmas.ScaleModelInput(sample, sigmas[stepIndex]);

    /// <inheritdoc />
    protected override Tensor StepCore(Tensor modelOutput, int stepIndex, Tensor sample, Generator? generator)
    {
        var sigma = sigmas[stepIndex];
        var sigmaTo = sigmas[stepIndex + 1];
        var x = sample.DType == DType.Float32 ? sample : sample.To(DType.Float32);
        var predOriginal = EulerSigmas.PredictOriginal(PredictionType, modelOutput, x, sigma);

        // float32 scalars, in diffusers' order of operations.
        var sigmaUp = MathF.Sqrt(sigmaTo * sigmaTo * ((sigma * sigma) - (sigmaTo * sigmaTo)) / (sigma * sigma));
        var sigmaDown = MathF.Sqrt((sigmaTo * sigmaTo) - (sigmaUp * sigmaUp));
        var derivative = (x - predOriginal) / sigma;
        var dt = sigmaDown - sigma;
        var prev = x + (derivative * dt);

        var noise = Torch.Torch.Randn(modelOutput.Shape, generator, modelOutput.DType, modelOutput.Device);
        prev = prev + (noise * sigmaUp);
        return prev.DType == modelOutput.DType ? prev : prev.To(modelOutput.DType);
    }
}
