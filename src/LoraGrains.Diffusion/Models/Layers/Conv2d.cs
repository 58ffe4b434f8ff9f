using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.Layers;

/// <summary>A 2-D convolution over NCHW input (torch.nn.Conv2d, square kernel, groups = 1).</summary>
public sealed class Conv2d : IAdaptableLayer, IDisposable
{
    /// <summary>Loads <c>{name}.weight</c> [out, in, k, k] and <c>{name}.bias</c> [out].</summary>
    public Conv2d(ModelContext context, string name, long inChannels, long outChannels, int kernelSize, int stride = 1, int padding = 0, bool bias = true)
    {
        ArgumentNullException.ThrowIfNull(context);
        Name = name;
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Stride = stride;
        Padding = padding;
        weight = new AdaptableWeight(
            context.Load(name + ".weight", outChannels, inChannels, kernelSize, kernelSize), new LowRankAdapters(isConv: true, stride, padding));
        Bias = bias ? context.Load(name + ".bias", outChannels) : null;
    }

    private readonly AdaptableWeight weight;

    /// <summary>Module path (diffusers naming).</summary>
    public string Name { get; }

    /// <summary>Input channels.</summary>
    public long InChannels { get; }

    /// <summary>Output channels.</summary>
    public long OutChannels { get; }

    /// <summary>Kernel height and width.</summary>
    public int KernelSize { get; }

    /// <summary>Stride on both axes.</summary>
    public int Stride { get; }

    /// <summary>Zero padding on both axes.</summary>
    public int Padding { get; }

    /// <summary>Weight [out, in, k, k].</summary>
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

    /// <summary>Applies the convolution.</summary>
    public Tensor Forward(Tensor x) => weight.AddUnfusedAdapters(Functional.Conv2d(x, Weight, Bias, Stride, Padding), x);

    /// <inheritdoc />
    public void Dispose()
    {
        weight.Dispose();
        Bias?.Dispose();
    }
}
