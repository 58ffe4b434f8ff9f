namespace LoraGrains.Diffusion.Composition;

/// <summary>One adapter in a generation: its id, the user's weight, an optional per-step schedule and a Fusion key text.</summary>
/// <param name="Id">The attached adapter's id.</param>
/// <param name="Weight">User weight wᵢ (multiplies the global LoRA scale λ).</param>
/// <param name="Schedule">Optional per-step multiplier (keyframes).</param>
/// <param name="FusionKey">Description or trigger words whose text embedding is the adapter's Fusion key (defaults to its name).</param>
/// <param name="Name">The name shown in the image's metadata and the default Fusion key (defaults to the attached adapter's name).</param>
public sealed record AdapterUse(string Id, double Weight = 1.0, WeightSchedule? Schedule = null, string? FusionKey = null, string? Name = null)
{
    /// <summary>The effective user weight at a step.</summary>
    public double WeightAt(int step, int totalSteps) => Weight * (Schedule?.At(step, totalSteps) ?? 1.0);
}
