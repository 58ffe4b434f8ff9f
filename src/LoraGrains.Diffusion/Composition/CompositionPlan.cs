namespace LoraGrains.Diffusion.Composition;

/// <summary>
/// Which adapters are active, and with what scale, for the text encoder and for every UNet step of one run:
/// the whole method semantics in one place, independent of tensors.
/// </summary>
public sealed class CompositionPlan
{
    /// <summary>Creates the plan.</summary>
    /// <param name="method">The composition method.</param>
    /// <param name="adapters">Adapters in load order.</param>
    /// <param name="loraScale">Global LoRA scale λ.</param>
    /// <param name="switchEvery">Switch interval τ.</param>
    /// <param name="steps">Denoising steps.</param>
    /// <param name="fusionWeights">Fusion's wᵢ (required for Fusion, ignored otherwise).</param>
    public CompositionPlan(CompositionMethod method, IReadOnlyList<AdapterUse> adapters, double loraScale, int switchEvery, int steps,
        IReadOnlyList<double>? fusionWeights = null)
    {
        ArgumentNullException.ThrowIfNull(adapters);
        if (method == CompositionMethod.Fusion && adapters.Count > 0 && (fusionWeights is null || fusionWeights.Count != adapters.Count))
            throw new ArgumentException("Fusion needs one weight per adapter", nameof(fusionWeights));
        if (switchEvery < 1) throw new ArgumentOutOfRangeException(nameof(switchEvery), switchEvery, "switch interval must be >= 1");
        Method = method;
        Adapters = adapters;
        LoraScale = loraScale;
        SwitchEvery = switchEvery;
        Steps = steps;
        FusionWeights = fusionWeights;
    }

    /// <summary>The method.</summary>
    public CompositionMethod Method { get; }

    /// <summary>The adapters in load order.</summary>
    public IReadOnlyList<AdapterUse> Adapters { get; }

    /// <summary>Global LoRA scale λ.</summary>
    public double LoraScale { get; }

    /// <summary>Switch interval τ.</summary>
    public int SwitchEvery { get; }

    /// <summary>Number of denoising steps.</summary>
    public int Steps { get; }

    /// <summary>Fusion's weights wᵢ, when the method is Fusion.</summary>
    public IReadOnlyList<double>? FusionWeights { get; }

    /// <summary>True when adapters take part at all.</summary>
    public bool HasAdapters => Adapters.Count > 0;

    /// <summary>True when every UNet step runs one pass per adapter (Composite with adapters).</summary>
    public bool IsPerAdapterGuidance => Method == CompositionMethod.Composite && HasAdapters;

    /// <summary>
    /// Adapters and scales for the text encoder, which encodes both prompts once before the loop, as the
    /// reference does: all adapters for Merge, Composite and Fusion; only the first for Switch.
    /// </summary>
    public (IReadOnlyList<string> Ids, IReadOnlyList<double> Scales) TextEncoderSet() => Method switch
    {
        _ when !HasAdapters => ([], []),
        CompositionMethod.Switch => ([Adapters[0].Id], [Scale(0, 0)]),
        _ => (Adapters.Select(a => a.Id).ToList(), Adapters.Select((_, i) => Scale(i, 0)).ToList()),
    };

    /// <summary>
    /// Adapters and scales active on every batch row of UNet step <paramref name="step"/> (Merge, Switch, Fusion);
    /// for Composite, every adapter with its own scale (each used alone on its own pass or batch segment).
    /// </summary>
    public (IReadOnlyList<string> Ids, IReadOnlyList<double> Scales) StepSet(int step)
    {
        if (!HasAdapters) return ([], []);
        if (Method == CompositionMethod.Switch)
        {
            var a = SwitchSchedule.ActiveAt(step, SwitchEvery, Adapters.Count);
            return ([Adapters[a].Id], [Scale(a, step)]);
        }

        return (Adapters.Select(a => a.Id).ToList(), Adapters.Select((_, i) => Scale(i, step)).ToList());
    }

    /// <summary>Ids of the adapters that influence step <paramref name="step"/> (for the step-by-step record).</summary>
    public IReadOnlyList<string> ActiveAt(int step) => StepSet(step).Ids;

    /// <summary>True when the UNet's active set and scales are the same on every step (so it can be fused for the run).</summary>
    public bool IsFixedForRun =>
        HasAdapters && Method is CompositionMethod.Merge or CompositionMethod.Fusion && Adapters.All(a => a.Schedule is null);

    private double Scale(int adapter, int step)
    {
        var s = LoraScale * Adapters[adapter].WeightAt(step, Steps);
        return Method == CompositionMethod.Fusion ? s * FusionWeights![adapter] : s;
    }
}
