namespace LoraGrains.Client;

/// <summary>Body of <c>POST /v1/jobs</c>: one text-to-image generation. Absent fields take the session's settings, then the defaults.</summary>
public sealed record JobRequest
{
    /// <summary>The session it belongs to (its settings and adapter set fill absent fields).</summary>
    public string? SessionId { get; init; }

    /// <summary>The prompt (required, at most 4096 characters).</summary>
    public string? Prompt { get; init; }

    /// <summary>The negative prompt.</summary>
    public string? NegativePrompt { get; init; }

    /// <summary>Denoising steps (1-1000; default 20).</summary>
    public int? Steps { get; init; }

    /// <summary>Classifier-free guidance scale (0-100; default 7.5).</summary>
    public double? GuidanceScale { get; init; }

    /// <summary>ddim | euler | euler-a | dpmpp-2m | dpmpp-2m-karras | pndm (default dpmpp-2m).</summary>
    public string? Scheduler { get; init; }

    /// <summary>Seed (default 0).</summary>
    public ulong? Seed { get; init; }

    /// <summary>Width in pixels, a multiple of 8 (default: the model's native size).</summary>
    public int? Width { get; init; }

    /// <summary>Height in pixels, a multiple of 8 (default: the model's native size).</summary>
    public int? Height { get; init; }

    /// <summary>Adapters to compose (default: the session's adapter set).</summary>
    public IReadOnlyList<JobAdapter>? Adapters { get; init; }

    /// <summary>merge | switch | composite | fusion (default composite).</summary>
    public string? Method { get; init; }

    /// <summary>Switch interval τ (default 5).</summary>
    public int? SwitchEvery { get; init; }

    /// <summary>Global LoRA scale λ (default 0.8).</summary>
    public double? LoraScale { get; init; }

    /// <summary>Fusion softmax temperature T (in (0, 100]; default 0.1).</summary>
    public double? FusionTemperature { get; init; }

    /// <summary>CLIP skip as diffusers counts it (0-10; 0 = last layer, 1 = A1111's "Clip skip 2"; default 0).</summary>
    public int? ClipSkip { get; init; }

    /// <summary>Images drawn from the seed's latents in one batch (1-16; default 1); fetch image i with its index.</summary>
    public int? BatchSize { get; init; }

    /// <summary>
    /// Composite as one UNet forward of batch 2N, each batch segment with its own adapter (default true); false runs one
    /// UNet pass per adapter. Ignored by <see cref="DistributedComposite"/>, which always runs per-adapter passes.
    /// </summary>
    public bool? BatchedComposite { get; init; }

    /// <summary>
    /// Composite only: evaluate each adapter's UNet passes on the silos that hold the adapter (fanned out per step,
    /// combined here); passes no peer can take run locally. Default false.
    /// </summary>
    public bool? DistributedComposite { get; init; }

    /// <summary>Steps between checkpoints another silo can resume from (0 = none; default 0).</summary>
    public int? CheckpointEvery { get; init; }
}
