using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.Layers;

/// <summary>Layer normalisation over the last dimension with an affine transform (torch.nn.LayerNorm).</summary>
public sealed class LayerNorm : IDisposable
{
    private readonly long[] normalizedShape;

    /// <summary>Loads <c>{name}.weight</c> and <c>{name}.bias</c> [features].</summary>
    public LayerNorm(ModelContext context, string name, long features, double eps = 1e-5)
    {
        ArgumentNullException.ThrowIfNull(context);
        normalizedShape = [features];
        Eps = eps;
        Weight = context.Load(name + ".weight", features);
        Bias = context.Load(name + ".bias", features);
    }

    /// <summary>Epsilon added to the variance.</summary>
    public double Eps { get; }

    /// <summary>Scale [features].</summary>
    public Tensor Weight { get; }

    /// <summary>Shift [features].</summary>
    public Tensor Bias { get; }

    /// <summary>Applies the normalisation.</summary>
    public Tensor Forward(Tensor x) => Functional.LayerNorm(x, normalizedShape, Weight, Bias, Eps);

    /// <inheritdoc />
    public void Dispose()
    {
        Weight.Dispose();
        Bias.Dispose();
    }
}
