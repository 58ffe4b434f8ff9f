using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.Layers;

/// <summary>Group normalisation with an affine transform (torch.nn.GroupNorm).</summary>
public sealed class GroupNorm : IDisposable
{
    /// <summary>Loads <c>{name}.weight</c> and <c>{name}.bias</c> [channels].</summary>
    public GroupNorm(ModelContext context, string name, int groups, long channels, double eps)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (groups <= 0 || channels % groups != 0)
            throw new ModelLoadException($"{context.Weights.Component}: {name}: {channels} channels cannot form {groups} groups");
        Groups = groups;
        Eps = eps;
        Weight = context.Load(name + ".weight", channels);
        Bias = context.Load(name + ".bias", channels);
    }

    /// <summary>Number of groups.</summary>
    public int Groups { get; }

    /// <summary>Epsilon added to the variance.</summary>
    public double Eps { get; }

    /// <summary>Scale [channels].</summary>
    public Tensor Weight { get; }

    /// <summary>Shift [channels].</summary>
    public Tensor Bias { get; }

    /// <summary>Applies the normalisation.</summary>
    public Tensor Forward(Tensor x) => Functional.GroupNorm(x, Groups, Weight, Bias, Eps);

    /// <inheritdoc />
    public void Dispose()
    {
        Weight.Dispose();
        Bias.Dispose();
    }
}
