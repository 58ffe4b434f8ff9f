using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Schedulers;

/// <summary>
/// A diffusers noise scheduler: the timesteps to run the UNet at and the update from one sample to the next.
/// Subclasses reproduce diffusers 0.26.3 exactly, including where it computes in float64 (NumPy) and where in
/// float32 (torch), so their outputs match diffusers' to float32 rounding.
/// </summary>
/// <remarks>
/// Usage: <see cref="SetTimesteps"/>, then for i = 0 … <c>Timesteps.Count − 1</c>: run the model on
/// <see cref="ScaleModelInput"/>(sample, i) at timestep <c>Timesteps[i]</c>, then
/// sample = <see cref="Step"/>(output, i, sample, generator). Steps are addressed by index, not by timestep value
/// (PNDM repeats a timestep), and must run in order; <see cref="SaveState"/>/<see cref="LoadState"/> checkpoint
/// between them. Tensors returned are new and owned by the caller (and by the caller's <see cref="TensorScope"/>);
/// the history a scheduler keeps is its own, freed by <see cref="Dispose"/> or the next <see cref="SetTimesteps"/>.
/// </remarks>
public abstract class Scheduler : IDisposable
{
    private double[] timesteps = [];

    /// <summary>Reads the fields every scheduler shares, with the class's own defaults.</summary>
    /// <exception cref="SchedulerConfigException">A field is invalid or not supported.</exception>
    protected Scheduler(SchedulerConfig config, string name, TimestepSpacing defaultSpacing, params PredictionType[] supportedPredictionTypes)
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config;
        Name = name;
        NumTrainTimesteps = config.GetInt("num_train_timesteps", 1000);
        if (NumTrainTimesteps < 1)
            throw new SchedulerConfigException("num_train_timesteps", config.Raw("num_train_timesteps"), $"{name}: num_train_timesteps must be at least 1, got {NumTrainTimesteps}");
        StepsOffset = config.GetInt("steps_offset", 0);
        if (StepsOffset < 0)
            throw new SchedulerConfigException("steps_offset", config.Raw("steps_offset"), $"{name}: steps_offset must not be negative, got {StepsOffset}");
        TimestepSpacing = ConfigChoice.TimestepSpacing(config, name, defaultSpacing);
        PredictionType = ConfigChoice.PredictionType(config, name, supportedPredictionTypes);
        if (config.GetBool("rescale_betas_zero_snr", false)) throw ConfigChoice.NotSupported(name, "rescale_betas_zero_snr", "true");
        AlphasCumprod = NoiseSchedule.AlphasCumprod(config, name, NumTrainTimesteps);
    }

    /// <summary>The diffusers class this scheduler reproduces, e.g. <c>EulerDiscreteScheduler</c>.</summary>
    public string Name { get; }

    /// <summary>The config it was built from (class defaults apply to absent keys).</summary>
    public SchedulerConfig Config { get; }

    /// <summary>Length of the training schedule (<c>num_train_timesteps</c>).</summary>
    public int NumTrainTimesteps { get; }

    /// <summary><c>steps_offset</c>, added to "leading" timesteps.</summary>
    public int StepsOffset { get; }

    /// <summary><c>timestep_spacing</c>.</summary>
    public TimestepSpacing TimestepSpacing { get; }

    /// <summary><c>prediction_type</c>: what the model outputs.</summary>
    public PredictionType PredictionType { get; }

    /// <summary>The step count last given to <see cref="SetTimesteps"/> (0 before).</summary>
    public int NumInferenceSteps { get; private set; }

    /// <summary>
    /// The timestep of each step, as passed to the UNet (integers for DDIM, PNDM and DPM-Solver, float32 values for
    /// Euler). One per <see cref="Step"/> call: PNDM has <see cref="NumInferenceSteps"/> + 1.
    /// </summary>
    public IReadOnlyList<double> Timesteps => timesteps;

    /// <summary>The noise level of each step plus the final one (Euler, Euler ancestral, DPM-Solver), else null.</summary>
    public virtual IReadOnlyList<double>? Sigmas => null;

    /// <summary>Standard deviation of the initial noise: the initial latents are randn · this.</summary>
    public abstract double InitNoiseSigma { get; }

    /// <summary>Steps taken since <see cref="SetTimesteps"/>: the index the next <see cref="Step"/> call must pass.</summary>
    public int StepIndex { get; private set; }

    /// <summary>The training ᾱ_t (float32, as diffusers' tensor).</summary>
    internal float[] AlphasCumprod { get; }

    /// <summary>ᾱ at training timestep <paramref name="t"/>, with a clear error when a schedule runs past the table.</summary>
    internal float AlphaCumprodAt(long t)
    {
        if (t < 0 || t >= AlphasCumprod.Length)
        {
            throw new InvalidOperationException(
                $"{Name}: timestep {t} is outside the training schedule 0 … {AlphasCumprod.Length - 1} (steps_offset {StepsOffset} with {NumInferenceSteps} steps)");
        }

        return AlphasCumprod[t];
    }

    /// <summary>Prepares <paramref name="steps"/> inference steps and clears any history.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="steps"/> is not in 1 … <see cref="NumTrainTimesteps"/>.</exception>
    public void SetTimesteps(int steps)
    {
        if (steps < 1 || steps > NumTrainTimesteps)
        {
            throw new ArgumentOutOfRangeException(nameof(steps), steps,
                $"{Name}: steps must be between 1 and num_train_timesteps ({NumTrainTimesteps}), got {steps}");
        }

        ClearHistory();
        timesteps = ComputeTimesteps(steps);
        NumInferenceSteps = steps;
        StepIndex = 0;
    }

    /// <summary>The UNet input for step <paramref name="stepIndex"/> (a new tensor; for some schedulers a copy of <paramref name="sample"/>).</summary>
    public Tensor ScaleModelInput(Tensor sample, int stepIndex)
    {
        ArgumentNullException.ThrowIfNull(sample);
        CheckIndex(stepIndex);
        return ScaleModelInputCore(sample, stepIndex);
    }

    /// <summary>
    /// Advances from <paramref name="sample"/> at step <paramref name="stepIndex"/> given the model's output, returning
    /// the previous (less noisy) sample. Ancestral schedulers draw their noise from <paramref name="generator"/>
    /// exactly as diffusers does (without one they use libtorch's default generator).
    /// </summary>
    /// <exception cref="InvalidOperationException">No timesteps are set, or the step is out of order.</exception>
    public Tensor Step(Tensor modelOutput, int stepIndex, Tensor sample, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(modelOutput);
        ArgumentNullException.ThrowIfNull(sample);
        CheckIndex(stepIndex);
        if (stepIndex != StepIndex)
        {
            throw new InvalidOperationException(
                $"{Name}: step {stepIndex} called but the next step is {StepIndex}; steps run in order (LoadState resumes a saved run)");
        }

        using var scope = TensorScope.Enter();
        var prev = StepCore(modelOutput, stepIndex, sample, generator);
        scope.MoveToOuter(prev);
        StepIndex++;
        return prev;
    }

    /// <summary>Everything that lives across steps, as plain serialisable data.</summary>
    public SchedulerState SaveState()
    {
        var tensors = new Dictionary<string, StateTensor>(StringComparer.Ordinal);
        var integers = new Dictionary<string, long>(StringComparer.Ordinal);
        SaveHistory(tensors, integers);
        return new SchedulerState
        {
            Scheduler = Name,
            NumInferenceSteps = NumInferenceSteps,
            StepIndex = StepIndex,
            Timesteps = timesteps.ToArray(),
            Integers = integers,
            Tensors = tensors,
        };
    }

    /// <summary>
    /// Restores a state from <see cref="SaveState"/> of a scheduler of the same class and config (this one may be
    /// fresh): sets the timesteps, the step index and the history, the latter on <paramref name="device"/>
    /// (history moves to the sample's device at the next step anyway).
    /// </summary>
    /// <exception cref="ArgumentException">The state is for another scheduler, config or schedule, or is malformed.</exception>
    public void LoadState(SchedulerState state, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (!string.Equals(state.Scheduler, Name, StringComparison.Ordinal))
            throw new ArgumentException($"state was saved by {state.Scheduler}, cannot load it into {Name}", nameof(state));
        if (state.NumInferenceSteps < 1)
            throw new ArgumentException($"{Name}: the state was saved before SetTimesteps", nameof(state));
        SetTimesteps(state.NumInferenceSteps);
        if (!timesteps.SequenceEqual(state.Timesteps))
        {
            throw new ArgumentException(
                $"{Name}: the saved timesteps differ from this scheduler's for {state.NumInferenceSteps} steps (was it built from another config?)", nameof(state));
        }

        if (state.StepIndex < 0 || state.StepIndex > timesteps.Length)
            throw new ArgumentException($"{Name}: saved step index {state.StepIndex} is outside 0 … {timesteps.Length}", nameof(state));
        LoadHistory(state, device ?? Device.Cpu);
        StepIndex = state.StepIndex;
    }

    /// <summary>Frees the history tensors.</summary>
    public void Dispose()
    {
        ClearHistory();
        GC.SuppressFinalize(this);
    }

    /// <summary>The timesteps for <paramref name="steps"/> steps; also sets up per-step data such as sigmas.</summary>
    protected abstract double[] ComputeTimesteps(int steps);

    /// <summary>The update; runs inside a tensor scope, so temporaries need no disposal. Must return a new tensor.</summary>
    protected abstract Tensor StepCore(Tensor modelOutput, int stepIndex, Tensor sample, Generator? generator);

    /// <summary>The UNet input (default: a copy, for schedulers whose <c>scale_model_input</c> is the identity).</summary>
    protected virtual Tensor ScaleModelInputCore(Tensor sample, int stepIndex) => sample.Clone();

    /// <summary>Adds the history tensors and counters to a state being saved.</summary>
    protected virtual void SaveHistory(IDictionary<string, StateTensor> tensors, IDictionary<string, long> integers)
    {
    }

    /// <summary>Restores the history from <paramref name="state"/> (called after <see cref="ClearHistory"/>).</summary>
    protected virtual void LoadHistory(SchedulerState state, Device device)
    {
    }

    /// <summary>Disposes and forgets the history.</summary>
    protected virtual void ClearHistory()
    {
    }

    /// <summary>
    /// <paramref name="tensor"/>, just created, kept as history: the current tensor scope (the step's own, or the
    /// caller's while loading a state) stops owning it, so only the scheduler frees it.
    /// </summary>
    protected static Tensor Keep(Tensor tensor) => TensorScope.Current?.Disown(tensor) ?? tensor;

    /// <summary>
    /// A history tensor on <paramref name="like"/>'s device: <paramref name="kept"/> itself, or a kept copy (the
    /// original disposed) when it lives elsewhere, e.g. after loading a state on the CPU.
    /// </summary>
    protected static Tensor OnDeviceOf(Tensor kept, Tensor like)
    {
        ArgumentNullException.ThrowIfNull(kept);
        ArgumentNullException.ThrowIfNull(like);
        if (kept.Device == like.Device) return kept;
        var moved = Keep(kept.To(like.Device));
        kept.Dispose();
        return moved;
    }

    /// <summary>The state tensor <paramref name="key"/>, or an exception naming it.</summary>
    protected Tensor LoadTensor(SchedulerState state, string key, Device device)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (!state.Tensors.TryGetValue(key, out var t))
            throw new ArgumentException($"{Name}: saved state lacks tensor '{key}'", nameof(state));
        return Keep(t.ToTensor(device));
    }

    /// <summary>The state integer <paramref name="key"/>, or an exception naming it.</summary>
    protected long LoadInteger(SchedulerState state, string key)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (!state.Integers.TryGetValue(key, out var v))
            throw new ArgumentException($"{Name}: saved state lacks integer '{key}'", nameof(state));
        return v;
    }

    private void CheckIndex(int stepIndex)
    {
        if (timesteps.Length == 0) throw new InvalidOperationException($"{Name}: call SetTimesteps before stepping");
        if (stepIndex < 0 || stepIndex >= timesteps.Length)
            throw new ArgumentOutOfRangeException(nameof(stepIndex), stepIndex, $"{Name}: step index must be in 0 … {timesteps.Length - 1}");
    }
}
