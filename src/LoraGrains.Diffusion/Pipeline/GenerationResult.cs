namespace LoraGrains.Diffusion.Pipeline;

/// <summary>The images of one generation and what happened on the way.</summary>
public sealed record GenerationResult
{
    /// <summary>PNG files (with the A1111 "parameters" text chunk), one per image of the batch.</summary>
    public required IReadOnlyList<byte[]> Images { get; init; }

    /// <summary>Image width in pixels.</summary>
    public required int Width { get; init; }

    /// <summary>Image height in pixels.</summary>
    public required int Height { get; init; }

    /// <summary>The A1111-style parameters text stored in every PNG.</summary>
    public required string Parameters { get; init; }

    /// <summary>True when the prompt was longer than 77 tokens and was cut.</summary>
    public bool PromptTruncated { get; init; }

    /// <summary>True when the negative prompt was longer than 77 tokens and was cut.</summary>
    public bool NegativePromptTruncated { get; init; }

    /// <summary>Adapters active at each UNet step (empty lists without adapters).</summary>
    public IReadOnlyList<IReadOnlyList<string>> ActiveAdapters { get; init; } = [];

    /// <summary>Fusion's weights wᵢ in adapter order, when the method was Fusion.</summary>
    public IReadOnlyList<double>? FusionWeights { get; init; }

    /// <summary>Wall time of the denoising loop.</summary>
    public TimeSpan DenoiseTime { get; init; }
}
