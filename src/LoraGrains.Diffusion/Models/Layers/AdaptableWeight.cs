using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.Layers;

/// <summary>
/// The weight of a <see cref="Linear"/> or <see cref="Conv2d"/> together with its LoRA adapters: the base weight
/// as loaded, kept untouched, and while fused a separate W + Σ sᵢΔWᵢ, so unfusing restores W bit-exactly.
/// Shared by both layers, which differ only in the product they compute with it.
/// </summary>
internal sealed class AdaptableWeight : IDisposable
{
    private readonly Tensor baseWeight;
    private Tensor? fused;

    /// <summary>Takes ownership of <paramref name="baseWeight"/> and <paramref name="adapters"/>.</summary>
    public AdaptableWeight(Tensor baseWeight, LowRankAdapters adapters)
    {
        this.baseWeight = baseWeight;
        Adapters = adapters;
    }

    /// <summary>The adapters attached to the layer.</summary>
    public LowRankAdapters Adapters { get; }

    /// <summary>The weight to compute with: the fused one while fused, else the base weight.</summary>
    public Tensor Current => fused ?? baseWeight;

    /// <summary>True while the active adapters are folded into <see cref="Current"/>.</summary>
    public bool IsFused => fused is not null;

    /// <summary>Folds the active (uniform) adapters into a copy of the base weight; without active adapters, just unfuses.</summary>
    public void Fuse()
    {
        Unfuse();
        if (!Adapters.IsActive) return;
        using var scope = TensorScope.Enter();
        fused = scope.Disown(baseWeight + Adapters.ActiveDelta(baseWeight.Shape));
    }

    /// <summary>Drops the fused copy: the base weight is current again.</summary>
    public void Unfuse()
    {
        fused?.Dispose();
        fused = null;
    }

    /// <summary>
    /// Completes the layer's output <paramref name="y"/> for input <paramref name="x"/>: adds the unmerged adapters'
    /// branch in place, unless they are already fused into the weight <paramref name="y"/> was computed with.
    /// </summary>
    public Tensor AddUnfusedAdapters(Tensor y, Tensor x) => fused is null ? Adapters.AddTo(y, x) : y;

    /// <inheritdoc />
    public void Dispose()
    {
        Unfuse();
        Adapters.Dispose();
        baseWeight.Dispose();
    }
}
