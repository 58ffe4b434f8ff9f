using LoraGrains.Diffusion.Composition;

namespace LoraGrains.Diffusion.Pipeline;

/// <summary>What to generate: a text-to-image request with diffusers' parameters.</summary>
public sealed record GenerationRequest
{
    /// <summary>Largest width or height accepted, in pixels.</summary>
    public const int MaxSide = 4096;

    /// <summary>Most denoising steps accepted.</summary>
    public const int MaxSteps = 1000;

    /// <summary>Most images per request.</summary>
    public const int MaxBatchSize = 16;

    /// <summary>The prompt.</summary>
    public required string Prompt { get; init; }

    /// <summary>The negative prompt (the unconditional branch of classifier-free guidance).</summary>
    public string NegativePrompt { get; init; } = "";

    /// <summary>Denoising steps.</summary>
    public int Steps { get; init; } = 20;

    /// <summary>Classifier-free guidance scale (≤ 1 disables guidance).</summary>
    public double GuidanceScale { get; init; } = 7.5;

    /// <summary>Sampler name: ddim, euler, euler-a, dpmpp-2m, dpmpp-2m-karras or pndm.</summary>
    public string Scheduler { get; init; } = "dpmpp-2m";

    /// <summary>Seed of the CPU generator the initial latents are drawn from (as diffusers draws them).</summary>
    public ulong Seed { get; init; }

    /// <summary>Image width in pixels (a multiple of 8).</summary>
    public int Width { get; init; } = 512;

    /// <summary>Image height in pixels (a multiple of 8).</summary>
    public int Height { get; init; } = 512;

    /// <summary>Images generated from one seed's latents drawn in one batch.</summary>
    public int BatchSize { get; init; } = 1;

    /// <summary>CLIP skip as diffusers counts it (0 = last layer; 1 = penultimate, A1111's "Clip skip 2").</summary>
    public int ClipSkip { get; init; }

    /// <summary>Most adapters composed in one image.</summary>
    public const int MaxAdapters = 16;

    /// <summary>LoRA adapters to compose, in order (Switch rotates in this order).</summary>
    public IReadOnlyList<AdapterUse> Adapters { get; init; } = [];

    /// <summary>How the adapters are combined.</summary>
    public CompositionMethod Method { get; init; } = CompositionMethod.Composite;

    /// <summary>Switch interval τ in steps.</summary>
    public int SwitchEvery { get; init; } = 5;

    /// <summary>Global LoRA scale λ (the multi-LoRA composition paper uses 0.8).</summary>
    public double LoraScale { get; init; } = 0.8;

    /// <summary>Fusion softmax temperature T.</summary>
    public double FusionTemperature { get; init; } = 0.1;

    /// <summary>Composite as one UNet forward of batch 2N (each batch segment with its own adapter) instead of N forwards.</summary>
    public bool BatchedComposite { get; init; } = true;

    /// <summary>Fold a fixed adapter set (Merge, Fusion without schedules) into the UNet weights for the run; unfused afterwards.</summary>
    public bool FuseFixedAdapters { get; init; } = true;

    /// <summary>Steps between checkpoints handed to <see cref="IDenoiseObserver.OnCheckpoint"/> (0 = none).</summary>
    public int CheckpointEvery { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field and its limit.</summary>
    public void Validate()
    {
        if (Prompt is null) throw new ArgumentException("prompt is required", nameof(Prompt));
        if (Steps is <= 0 or > MaxSteps) throw new ArgumentOutOfRangeException(nameof(Steps), Steps, $"steps must be between 1 and {MaxSteps}");
        if (double.IsNaN(GuidanceScale) || GuidanceScale is < 0 or > 100)
            throw new ArgumentOutOfRangeException(nameof(GuidanceScale), GuidanceScale, "guidance scale must be between 0 and 100");
        CheckSide(Width, nameof(Width));
        CheckSide(Height, nameof(Height));
        if (BatchSize is <= 0 or > MaxBatchSize)
            throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, $"batch size must be between 1 and {MaxBatchSize}");
        ArgumentNullException.ThrowIfNull(Adapters, nameof(Adapters));
        if (Adapters.Count > MaxAdapters) throw new ArgumentOutOfRangeException(nameof(Adapters), Adapters.Count, $"at most {MaxAdapters} adapters");
        if (Adapters.Select(a => a.Id).Distinct(StringComparer.Ordinal).Count() != Adapters.Count)
            throw new ArgumentException("an adapter is listed twice", nameof(Adapters));
        foreach (var a in Adapters)
        {
            if (!double.IsFinite(a.Weight) || Math.Abs(a.Weight) > 10)
                throw new ArgumentOutOfRangeException(nameof(Adapters), a.Weight, $"adapter '{a.Id}' weight must be between -10 and 10");
        }

        if (SwitchEvery is < 1 or > MaxSteps) throw new ArgumentOutOfRangeException(nameof(SwitchEvery), SwitchEvery, $"switch interval must be between 1 and {MaxSteps}");
        if (!double.IsFinite(LoraScale) || Math.Abs(LoraScale) > 10)
            throw new ArgumentOutOfRangeException(nameof(LoraScale), LoraScale, "LoRA scale must be between -10 and 10");
        if (!(FusionTemperature > 0) || FusionTemperature > 100)
            throw new ArgumentOutOfRangeException(nameof(FusionTemperature), FusionTemperature, "fusion temperature must be in (0, 100]");
        if (CheckpointEvery is < 0 or > MaxSteps) throw new ArgumentOutOfRangeException(nameof(CheckpointEvery), CheckpointEvery, $"checkpoint interval must be between 0 and {MaxSteps}");
        if (ClipSkip is < 0 or > 10) throw new ArgumentOutOfRangeException(nameof(ClipSkip), ClipSkip, "clip skip must be between 0 and 10");
    }

    private static void CheckSide(int value, string name)
    {
        if (value is < 8 or > MaxSide) throw new ArgumentOutOfRangeException(name, value, $"{name.ToLowerInvariant()} must be between 8 and {MaxSide} pixels");
        if (value % 8 != 0) throw new ArgumentOutOfRangeException(name, value, $"{name.ToLowerInvariant()} must be a multiple of 8");
    }
}
