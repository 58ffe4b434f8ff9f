using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Schedulers;

/// <summary>
/// diffusers' <c>DPMSolverMultistepScheduler</c> with <c>algorithm_type</c> "dpmsolver++" ("DPM++ 2M" in A1111
/// with solver order 2, "DPM++ 2M Karras" with <c>use_karras_sigmas</c>): a multistep solver in the data
/// (x₀) prediction that reuses the previous step's x₀, starting first-order and, with <c>lower_order_final</c>,
/// ending first-order for short schedules.
/// </summary>
public sealed class DpmSolverMultistepScheduler : Scheduler
{
    private readonly float[] trainingSigmas;
    private readonly float[] logSigmas;
    private readonly float[] lambdas;
    private readonly double? sigmaMin;
    private readonly double? sigmaMax;
    private readonly bool heun;
    private readonly bool lowerOrderFinal;
    private readonly bool eulerAtFinal;
    private readonly bool finalSigmaZero;
    private readonly double lambdaMinClipped;
    // model_outputs[SolverOrder − 1] is the newest converted output; null until that many steps ran.
    private readonly Tensor?[] modelOutputs;
    private int lowerOrderNums;
    private float[] sigmas = [];

    /// <summary>Builds the scheduler as <c>DPMSolverMultistepScheduler.from_config(config)</c>.</summary>
    /// <exception cref="SchedulerConfigException">A field is invalid or not supported.</exception>
    public DpmSolverMultistepScheduler(SchedulerConfig config)
        : base(config, "DPMSolverMultistepScheduler", TimestepSpacing.Linspace, PredictionType.Epsilon, PredictionType.VPrediction, PredictionType.Sample)
    {
        SolverOrder = config.GetInt("solver_order", 2);
        if (SolverOrder == 3) throw ConfigChoice.NotSupported(Name, "solver_order", "3", "supported: 1, 2");
        if (SolverOrder is < 1 or > 3)
            throw new SchedulerConfigException("solver_order", config.Raw("solver_order"), $"{Name}: solver_order must be 1, 2 or 3, got {SolverOrder}");
        // diffusers maps the deprecated "deis" to dpmsolver++.
        ConfigChoice.Read(config, Name, "algorithm_type", "dpmsolver++", [("dpmsolver++", 0), ("deis", 0)], "dpmsolver", "sde-dpmsolver", "sde-dpmsolver++");
        // diffusers maps UniPC's solver types to midpoint.
        heun = ConfigChoice.Read(config, Name, "solver_type", "midpoint",
            [("midpoint", false), ("heun", true), ("logrho", false), ("bh1", false), ("bh2", false)]);
        lowerOrderFinal = config.GetBool("lower_order_final", true);
        eulerAtFinal = config.GetBool("euler_at_final", false);
        UseKarrasSigmas = config.GetBool("use_karras_sigmas", false);
        if (config.GetBool("use_lu_lambdas", false)) throw ConfigChoice.NotSupported(Name, "use_lu_lambdas", "true");
        if (config.GetBool("thresholding", false)) throw ConfigChoice.NotSupported(Name, "thresholding", "true");
        var variance = config.GetString("variance_type", null);
        if (variance is not null) throw ConfigChoice.NotSupported(Name, "variance_type", variance, "learned variance outputs");
        finalSigmaZero = ConfigChoice.Read(config, Name, "final_sigmas_type", "zero", [("zero", true), ("sigma_min", false)]);
        lambdaMinClipped = config.GetDouble("lambda_min_clipped", double.NegativeInfinity);
        // Only read by the Karras conversion when the config carries them (diffusers checks hasattr(config, ...)).
        sigmaMin = config.GetNullableDouble("sigma_min");
        sigmaMax = config.GetNullableDouble("sigma_max");

        trainingSigmas = SigmaSchedule.TrainingSigmas(AlphasCumprod);
        logSigmas = NumPy.Log(trainingSigmas);
        // λ_t = log α_t − log σ_t in float32, only used to clip the schedule (lambda_min_clipped).
        lambdas = AlphasCumprod.Select(a => TorchScalarMath.Log(MathF.Sqrt(a)) - TorchScalarMath.Log(MathF.Sqrt(1f - a))).ToArray();
        modelOutputs = new Tensor?[SolverOrder];
    }

    /// <summary><c>solver_order</c>: 1 or 2 (the "2M" of DPM++ 2M).</summary>
    public int SolverOrder { get; }

    /// <summary><c>use_karras_sigmas</c>.</summary>
    public bool UseKarrasSigmas { get; }

    /// <inheritdoc />
    public override IReadOnlyList<double>? Sigmas => sigmas.Length == 0 ? null : sigmas.Select(s => (double)s).ToArray();

    /// <inheritdoc />
    public override double InitNoiseSigma => 1.0;

    /// <inheritdoc />
    protected override double[] ComputeTimesteps(int steps)
    {
        var n = NumTrainTimesteps;
        // searchsorted(flip(λ), lambda_min_clipped): drop the noisiest timesteps whose λ is below the clip.
        var clipped = 0;
        while (clipped < n && lambdas[n - 1 - clipped] < lambdaMinClipped) clipped++;
        var last = n - clipped;

        double[] timesteps = TimestepSpacing switch
        {
            TimestepSpacing.Linspace => NumPy.Linspace(0, last - 1, steps + 1).Select(NumPy.Round).Reverse().Take(steps).ToArray(),
            TimestepSpacing.Leading => Enumerable.Range(1, steps).Reverse().Select(i => (double)(((long)i * (last / (steps + 1))) + StepsOffset)).ToArray(),
            _ => NumPy.Arange(last, 0, -((double)n / steps)).Select(t => NumPy.Round(t) - 1).ToArray(),
        };

        double[] stepSigmas;
        if (UseKarrasSigmas)
        {
            // On the flipped (descending) training sigmas: from σ_max = σ(train − 1) down to σ_min = σ(0).
            stepSigmas = SigmaSchedule.Karras(sigmaMin ?? trainingSigmas[0], sigmaMax ?? trainingSigmas[^1], steps);
            timesteps = stepSigmas.Select(s => NumPy.Round(SigmaSchedule.SigmaToT(s, logSigmas))).ToArray();
        }
        else
        {
            stepSigmas = timesteps.Select(t => NumPy.Interp(t, trainingSigmas)).ToArray();
        }

        var sigmaLast = finalSigmaZero ? 0f : MathF.Sqrt((1f - AlphasCumprod[0]) / AlphasCumprod[0]);
        sigmas = [.. stepSigmas.Select(s => (float)s), sigmaLast];
        return timesteps;
    }

    /// <inheritdoc />
    protected override Tensor StepCore(Tensor modelOutput, int stepIndex, Tensor sample, Generator? generator)
    {
        var count = Timesteps.Count;
        // "Improve numerical stability for small number of steps": the last step is first order. (diffusers'
        // lower_order_second only matters for third-order solvers.)
        var isLowerOrderFinal = stepIndex == count - 1 && (eulerAtFinal || (lowerOrderFinal && count < 15) || finalSigmaZero);

        for (var i = 0; i < modelOutputs.Length; i++)
        {
            if (modelOutputs[i] is { } kept) modelOutputs[i] = OnDeviceOf(kept, sample);
        }

        var x0 = ConvertModelOutput(modelOutput, sample, sigmas[stepIndex]);
        var prev = SolverOrder == 1 || lowerOrderNums < 1 || isLowerOrderFinal
            ? FirstOrderUpdate(x0, stepIndex, sample)
            : SecondOrderUpdate(x0, modelOutputs[^1] ?? throw new InvalidOperationException($"{Name}: no previous model output"), stepIndex, sample);

        // Commit the history only once the step succeeded.
        modelOutputs[0]?.Dispose();
        for (var i = 0; i < modelOutputs.Length - 1; i++) modelOutputs[i] = modelOutputs[i + 1];
        modelOutputs[^1] = Keep(x0);
        if (lowerOrderNums < SolverOrder) lowerOrderNums++;
        return prev;
    }

    /// <inheritdoc />
    protected override void SaveHistory(IDictionary<string, StateTensor> tensors, IDictionary<string, long> integers)
    {
        integers["lower_order_nums"] = lowerOrderNums;
        for (var i = 0; i < modelOutputs.Length; i++)
        {
            if (modelOutputs[i] is { } t) tensors[$"model_outputs.{i}"] = StateTensor.From(t);
        }
    }

    /// <inheritdoc />
    protected override void LoadHistory(SchedulerState state, Device device)
    {
        var n = LoadInteger(state, "lower_order_nums");
        if (n < 0 || n > SolverOrder) throw new ArgumentException($"{Name}: saved lower_order_nums {n} is not in 0 … {SolverOrder}", nameof(state));
        lowerOrderNums = (int)n;
        for (var i = 0; i < modelOutputs.Length; i++)
        {
            var key = $"model_outputs.{i}";
            if (state.Tensors.ContainsKey(key)) modelOutputs[i] = LoadTensor(state, key, device);
        }
    }

    /// <inheritdoc />
    protected override void ClearHistory()
    {
        for (var i = 0; i < modelOutputs.Length; i++)
        {
            modelOutputs[i]?.Dispose();
            modelOutputs[i] = null;
        }

        lowerOrderNums = 0;
    }

    // α_t = 1/√(σ² + 1), σ_t = σ·α_t in float32 (diffusers' _sigma_to_alpha_sigma_t).
    private static (float Alpha, float Sigma) AlphaSigma(float sigma)
    {
        var alpha = 1f / MathF.Sqrt((sigma * sigma) + 1f);
        return (alpha, sigma * alpha);
    }

    private static float Lambda(float alpha, float sigma) => TorchScalarMath.Log(alpha) - TorchScalarMath.Log(sigma);

    // The data prediction x₀ (dpmsolver++'s convert_model_output).
    private Tensor ConvertModelOutput(Tensor modelOutput, Tensor sample, float sigma)
    {
        var (alphaT, sigmaT) = AlphaSigma(sigma);
        return PredictionType switch
        {
            PredictionType.Epsilon => (sample - (modelOutput * sigmaT)) / alphaT,
            PredictionType.VPrediction => (sample * alphaT) - (modelOutput * sigmaT),
            _ => modelOutput.Clone(),
        };
    }

    private Tensor FirstOrderUpdate(Tensor x0, int stepIndex, Tensor sample)
    {
        var (alphaT, sigmaT) = AlphaSigma(sigmas[stepIndex + 1]);
        var (alphaS, sigmaS) = AlphaSigma(sigmas[stepIndex]);
        var h = Lambda(alphaT, sigmaT) - Lambda(alphaS, sigmaS);
        return (sample * (sigmaT / sigmaS)) - (x0 * (alphaT * (TorchScalarMath.Exp(-h) - 1f)));
    }

    private Tensor SecondOrderUpdate(Tensor m0, Tensor m1, int stepIndex, Tensor sample)
    {
        var (alphaT, sigmaT) = AlphaSigma(sigmas[stepIndex + 1]);
        var (alphaS0, sigmaS0) = AlphaSigma(sigmas[stepIndex]);
        var (alphaS1, sigmaS1) = AlphaSigma(sigmas[stepIndex - 1]);
        var lambdaT = Lambda(alphaT, sigmaT);
        var lambdaS0 = Lambda(alphaS0, sigmaS0);
        var lambdaS1 = Lambda(alphaS1, sigmaS1);
        var h = lambdaT - lambdaS0;
        var h0 = lambdaS0 - lambdaS1;
        var r0 = h0 / h;
        var d1 = (m0 - m1) * (1f / r0);
        var expm1 = alphaT * (TorchScalarMath.Exp(-h) - 1f);
        var x = (sample * (sigmaT / sigmaS0)) - (m0 * expm1);
        return heun
            ? x + (d1 * (alphaT * (((TorchScalarMath.Exp(-h) - 1f) / h) + 1f)))
            : x - (d1 * (0.5f * expm1));
    }
}
