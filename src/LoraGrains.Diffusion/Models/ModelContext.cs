using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models;

/// <summary>Where a model's layers come from and live: its weights, the device and the compute dtype.</summary>
public sealed record ModelContext(StateDict Weights, Device Device, DType DType)
{
    /// <summary>Loads <paramref name="name"/> with the expected shape onto this context's device and dtype.</summary>
    public Tensor Load(string name, params long[] expectedShape) => Weights.Load(name, Device, DType, expectedShape);

    /// <summary>
    /// Builds a model's layers from this context inside a fresh <see cref="TensorScope"/>: a failure frees the
    /// weights loaded so far, and on success the model alone owns them (no enclosing scope frees them).
    /// </summary>
    internal T Build<T>(Func<ModelContext, T> create)
    {
        using var scope = TensorScope.Enter();
        var model = create(this);
        scope.DetachAll();
        return model;
    }

    /// <summary>Joins a module path and a child name with a dot.</summary>
    public static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;
}
