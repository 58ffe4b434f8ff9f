namespace LoraGrains.Diffusion.Checkpoints;

/// <summary>
/// One row of a checkpoint key-mapping table: the diffusers/transformers name a model class loads, the
/// name the tensor has in the original LDM/CompVis single file, and the shape the architecture needs.
/// </summary>
/// <param name="DiffusersName">Name in the diffusers/transformers state dict (e.g. <c>down_blocks.0.resnets.0.conv1.weight</c>).</param>
/// <param name="SourceName">Name in the single file, prefix included (e.g. <c>model.diffusion_model.input_blocks.1.0.in_layers.2.weight</c>).</param>
/// <param name="Shape">Shape the diffusers model expects.</param>
/// <param name="SqueezableSource">
/// True where the file legitimately stores the tensor with extra trailing size-1 dimensions (LDM's VAE
/// attention uses 1×1 convolutions where diffusers has linear layers), so <c>[C, C, 1, 1]</c> is viewed as <c>[C, C]</c>.
/// </param>
public sealed record KeyMapping(string DiffusersName, string SourceName, long[] Shape, bool SqueezableSource = false)
{
    /// <summary>True when a tensor stored with <paramref name="stored"/> shape can be used for this row.</summary>
    public bool Accepts(ReadOnlySpan<long> stored)
    {
        if (stored.SequenceEqual(Shape)) return true;
        return SqueezableSource && TrimTrailingOnes(stored).SequenceEqual(TrimTrailingOnes(Shape));
    }

    private static ReadOnlySpan<long> TrimTrailingOnes(ReadOnlySpan<long> s)
    {
        var n = s.Length;
        while (n > 1 && s[n - 1] == 1) n--;
        return s[..n];
    }
}
