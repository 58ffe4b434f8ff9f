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
        weight = new AdaptableWeight(context.Load(name + ".weight", outFeatures, inFeatures), new LowRankAdapters(isConv: false));
        Bias = bias ? context.Load(name + ".bias", outFeatures) : null;
    }

    private readonly AdaptableWeight weight;

    /// <summary>Module path (diffusers naming), e.g. <c>down_blocks.0.attentions.0.proj_in</c>.</summary>
    public string Name { get; }

    /// <summary>Input features.</summary>
    public long InFeatures { get; }

    /// <summary>Output features.</summary>
    public long OutFeatures { get; }

    /// <summary>Weight [out, in].</summary>
    public Tensor Weight => weight.Current;

    /// <inheritdoc />
    public LowRankAdapters Adapters => weight.Adapters;

    /// <inheritdoc />
    public bool IsFused => weight.IsFused;

    /// <inheritdoc />
    public void Fuse() => weight.Fuse();

    /// <inheritdoc />
    public void Unfuse() => weight.Unfuse();

    /// <summary>Bias [out], if any.</summary>
    public Tensor? Bias { get; }

    /// <summary>Applies the layer.</summary>
    public Tensor Forward(Tensor x) => weight.AddUnfusedAdapters(Functional.Linear(x, Weight, Bias), x);

    /// <inheritdoc />
    public void Dispose()
    {
        weight.Dispose();
        Bias?.Dispose();
    }
}
