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
        baseWeight = context.Load(name + ".weight", outChannels, inChannels, kernelSize, kernelSize);
        Adapters = new LowRankAdapters(isConv: true, stride, padding);
        Bias = bias ? context.Load(name + ".bias", outChannels) : null;
    }

    private readonly Tensor baseWeight;
    private Tensor? fused;

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

    /// <summary>Applies the convolution.</summary>
    public Tensor Forward(Tensor x)
    {
        var y = Functional.Conv2d(x, Weight, Bias, Stride, Padding);
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
