using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Schedulers;

/// <summary>
/// diffusers' <c>PNDMScheduler</c> with <c>skip_prk_steps</c> (Stable Diffusion 1.5's default scheduler): the
/// pseudo linear multistep (PLMS) method, whose first step is taken twice — once as an Euler step, then again from
/// the same sample with the average of both model outputs — so N steps make N + 1 model calls, the second
/// timestep repeated. Later steps combine up to four past model outputs (Adams–Bashforth).
/// </summary>
public sealed class PndmScheduler : Scheduler
{
    private readonly float finalAlphaCumprod;
    private readonly List<Tensor> ets = [];
    private Tensor? curSample;

    /// <summary>Builds the scheduler as <c>PNDMScheduler.from_config(config)</c>.</summary>
    /// <exception cref="SchedulerConfigException">A field is invalid or not supported (the Runge–Kutta warm-up, <c>skip_prk_steps</c> = false, is not).</exception>
    public PndmScheduler(SchedulerConfig config)
        : base(config, "PNDMScheduler", TimestepSpacing.Leading, PredictionType.Epsilon, PredictionType.VPrediction)
    {
        if (!config.GetBool("skip_prk_steps", false))
            throw ConfigChoice.NotSupported(Name, "skip_prk_steps", "false", "only the PLMS variant with skip_prk_steps = true, as in Stable Diffusion's config, is implemented");
        finalAlphaCumprod = config.GetBool("set_alpha_to_one", false) ? 1f : AlphasCumprod[0];
    }

    /// <inheritdoc />
    public override double InitNoiseSigma => 1.0;

    /// <inheritdoc />
    protected override double[] ComputeTimesteps(int steps)
    {
        var n = NumTrainTimesteps;
        // The training timesteps used, ascending.
        var ts = TimestepSpacing switch
        {
            TimestepSpacing.Linspace => NumPy.Linspace(0, n - 1, steps).Select(NumPy.Round).ToArray(),
            TimestepSpacing.Leading => Enumerable.Range(0, steps).Select(i => (double)(((long)i * (n / steps)) + StepsOffset)).ToArray(),
            _ => NumPy.Arange(n, 0, -((double)n / steps)).Select(t => NumPy.Round(t) - 1).Reverse().ToArray(),
        };

        // plms_timesteps = concat(ts[:-1], ts[-2:-1], ts[-1:])[::-1]: the second-to-last entry twice.
        var plms = new List<double>(ts[..^1]);
        if (ts.Length >= 2) plms.Add(ts[^2]);
        plms.Add(ts[^1]);
        plms.Reverse();
        return [.. plms];
    }

    /// <inheritdoc />
    protected override Tensor StepCore(Tensor modelOutput, int stepIndex, Tensor sample, Generator? generator)
    {
        var counter = stepIndex;
        var ratio = NumTrainTimesteps / NumInferenceSteps;
        var timestep = (long)Timesteps[stepIndex];
        var prevTimestep = timestep - ratio;

        for (var i = 0; i < ets.Count; i++) ets[i] = OnDeviceOf(ets[i], sample);
        if (curSample is not null) curSample = OnDeviceOf(curSample, sample);

        // The repeated step (counter 1) redoes step 0 from its sample, so it does not record its output.
        var newEts = ets.Skip(Math.Max(0, ets.Count - 3)).ToList();
        Tensor? added = null;
        if (counter != 1)
        {
            added = Keep(modelOutput.Clone());
            newEts.Add(added);
        }
        else
        {
            prevTimestep = timestep;
            timestep += ratio;
        }

        Tensor combined;
        var from = sample;
        var keepSample = false;
        var dropSample = false;
        if (newEts.Count == 1 && counter == 0)
        {
            combined = modelOutput;
            keepSample = true;
        }
        else if (newEts.Count == 1 && counter == 1)
        {
            combined = (modelOutput + newEts[^1]) / 2;
            from = curSample ?? throw new InvalidOperationException($"{Name}: the repeated first step has no saved sample");
            dropSample = true;
        }
        else if (newEts.Count == 2)
        {
            combined = ((newEts[^1] * 3) - newEts[^2]) / 2;
        }
        else if (newEts.Count == 3)
        {
            combined = ((newEts[^1] * 23) - (newEts[^2] * 16) + (newEts[^3] * 5)) / 12;
        }
        else if (newEts.Count == 4)
        {
            combined = ((newEts[^1] * 55) - (newEts[^2] * 59) + (newEts[^3] * 37) - (newEts[^4] * 9)) * (1.0 / 24);
        }
        else
        {
            added?.Dispose();
            throw new InvalidOperationException($"{Name}: inconsistent history ({newEts.Count} outputs at step {counter})");
        }

        Tensor prev;
        try
        {
            prev = PreviousSample(from, timestep, prevTimestep, combined);
        }
        catch
        {
            added?.Dispose();
            throw;
        }

        // Commit the history only once the step succeeded.
        foreach (var dropped in ets.Except(newEts)) dropped.Dispose();
        ets.Clear();
        ets.AddRange(newEts);
        if (keepSample)
        {
            curSample?.Dispose();
            curSample = Keep(sample.Clone());
        }
        else if (dropSample)
        {
            curSample?.Dispose();
            curSample = null;
        }

        return prev;
    }

    /// <inheritdoc />
    protected override void SaveHistory(IDictionary<string, StateTensor> tensors, IDictionary<string, long> integers)
    {
        integers["ets_count"] = ets.Count;
        for (var i = 0; i < ets.Count; i++) tensors[$"ets.{i}"] = StateTensor.From(ets[i]);
        if (curSample is not null) tensors["cur_sample"] = StateTensor.From(curSample);
    }

    /// <inheritdoc />
    protected override void LoadHistory(SchedulerState state, Device device)
    {
        var count = LoadInteger(state, "ets_count");
        if (count is < 0 or > 4) throw new ArgumentException($"{Name}: saved ets_count {count} is not in 0 … 4", nameof(state));
        for (var i = 0; i < count; i++) ets.Add(LoadTensor(state, $"ets.{i}", device));
        if (state.Tensors.ContainsKey("cur_sample")) curSample = LoadTensor(state, "cur_sample", device);
    }

    /// <inheritdoc />
    protected override void ClearHistory()
    {
        foreach (var t in ets) t.Dispose();
        ets.Clear();
        curSample?.Dispose();
        curSample = null;
    }

    // Formula (9) of the PNDM paper, as diffusers' _get_prev_sample, with float32 scalars.
    private Tensor PreviousSample(Tensor sample, long timestep, long prevTimestep, Tensor modelOutput)
    {
        var alphaT = AlphaCumprodAt(timestep);
        var alphaPrev = prevTimestep >= 0 ? AlphaCumprodAt(prevTimestep) : finalAlphaCumprod;
        var betaT = 1f - alphaT;
        var betaPrev = 1f - alphaPrev;
        if (PredictionType == PredictionType.VPrediction)
            modelOutput = (modelOutput * MathF.Sqrt(alphaT)) + (sample * MathF.Sqrt(betaT));

        var sampleCoeff = MathF.Sqrt(alphaPrev / alphaT);
        var denominator = (alphaT * MathF.Sqrt(betaPrev)) + MathF.Sqrt(alphaT * betaT * alphaPrev);
        return (sample * sampleCoeff) - ((modelOutput * (alphaPrev - alphaT)) / denominator);
    }
}
