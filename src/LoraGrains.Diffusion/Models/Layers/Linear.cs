using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.Layers;

/// <summary>A fully connected layer, y = x·Wᵀ + b (torch.nn.Linear).</summary>
public sealed class Linear : IAdaptableLayer, IDisposable
{
    /// <summary>Loads <c>{name}.weight</c> [out, in] and, when <paramref name="bias"/>, <c>{name}.bias</c> [out].</summary>
    public Linear(ModelContext context, string name, long inFeatures, long outFeatures, bool bias = true)
    {
        ArgumentNullException.ThrowIfNull(context);
        Name = name;
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        baseWeight = context.Load(name + ".weight", outFeatures, inFeatures);
        Adapters = new LowRankAdapters(isConv: false);
        Bias = bias ? context.Load(name + ".bias", outFeatures) : null;
    }

    private readonly Tensor baseWeight;
    private Tensor? fused;

    /// <summary>Module path (diffusers naming), e.g. <c>down_blocks.0.attentions.0.proj_in</c>.</summary>
    public string Name { get; }

    /// <summary>Input features.</summary>
    public long InFeatures { get; }

    /// <summary>Output features.</summary>
    public long OutFeatures { get; }

    /// <summary>Weight [out, in].</summary>
    public Tensor Weight => fused ?? baseWeight;

    /// <inheritdoc />
    public LowRankAdapters Adapters { get; }

    /// <inheritdoc />
    public bool IsFused => fused is not null;

    /// <inheritdoc />
    public void Fuse()
    {
        Unfuse();
        if (!Adapters.IsActive) return;
        using var scope = TensorScope.Enter();
        fused = scope.Disown(baseWeight + Adapters.ActiveDelta(baseWeight.Shape));
    }

    /// <inheritdoc />
    public void Unfuse()
    {
        fused?.Dispose();
        fused = null;
    }

    /// <summary>Bias [out], if any.</summary>
    public Tensor? Bias { get; }

    /// <summary>Applies the layer.</summary>
    public Tensor Forward(Tensor x)
    {
        var y = Functional.Linear(x, Weight, Bias);
        return fused is null ? Adapters.AddTo(y, x) : y;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Unfuse();
        Adapters.Dispose();
        baseWeight.Dispose();
        Bias?.Dispose();
    }
}
