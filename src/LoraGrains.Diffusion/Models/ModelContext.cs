using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models;

/// <summary>Where a model's layers come from and live: its weights, the device and the compute dtype.</summary>
public sealed record ModelContext(StateDict Weights, Device Device, DType DType)
{
    /// <summary>Loads <paramref name="name"/> with the expected shape onto this context's device and dtype.</summary>
    public Tensor Load(string name, params long[] expectedShape) => Weights.Load(name, Device, DType, expectedShape);

    /// <summary>Joins a module path and a child name with a dot.</summary>
    public static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;
}
