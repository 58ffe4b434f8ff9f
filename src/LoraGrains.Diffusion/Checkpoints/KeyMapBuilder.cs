namespace LoraGrains.Diffusion.Checkpoints;

/// <summary>Accumulates <see cref="KeyMapping"/> rows for the common layer kinds (weight + bias pairs).</summary>
internal sealed class KeyMapBuilder(string diffusersPrefix, string sourcePrefix)
{
    private readonly List<KeyMapping> rows = [];

    public IReadOnlyList<KeyMapping> Rows => rows;

    public void Tensor(string diffusers, string source, long[] shape, bool squeezable = false) =>
        rows.Add(new KeyMapping(diffusersPrefix + diffusers, sourcePrefix + source, shape, squeezable));

    public void Conv(string diffusers, string source, long outChannels, long inChannels, long kernel)
    {
        Tensor(diffusers + ".weight", source + ".weight", [outChannels, inChannels, kernel, kernel]);
        Tensor(diffusers + ".bias", source + ".bias", [outChannels]);
    }

    public void Linear(string diffusers, string source, long outFeatures, long inFeatures, bool bias = true)
    {
        Tensor(diffusers + ".weight", source + ".weight", [outFeatures, inFeatures]);
        if (bias) Tensor(diffusers + ".bias", source + ".bias", [outFeatures]);
    }

    /// <summary>GroupNorm/LayerNorm affine parameters.</summary>
    public void Norm(string diffusers, string source, long channels)
    {
        Tensor(diffusers + ".weight", source + ".weight", [channels]);
        Tensor(diffusers + ".bias", source + ".bias", [channels]);
    }
}
