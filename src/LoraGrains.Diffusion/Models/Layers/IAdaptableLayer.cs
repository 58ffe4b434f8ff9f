namespace LoraGrains.Diffusion.Models.Layers;

/// <summary>A layer a LoRA adapter can target (Linear or Conv2d), known by its diffusers module path.</summary>
public interface IAdaptableLayer
{
    /// <summary>Module path in diffusers naming, e.g. <c>mid_block.attentions.0.transformer_blocks.0.attn1.to_q</c>.</summary>
    string Name { get; }

    /// <summary>The adapters attached to this layer, applied unmerged on every forward.</summary>
    LowRankAdapters Adapters { get; }

    /// <summary>True while the active adapters are fused into the weight.</summary>
    bool IsFused { get; }

    /// <summary>
    /// Folds the active (uniform) adapters into the weight, W' = W + Σ sᵢΔWᵢ, and stops applying them
    /// unmerged: faster for long runs with a fixed set (Merge, Fusion). The base weight is kept.
    /// </summary>
    void Fuse();

    /// <summary>Restores the base weight bit-exactly (it was kept, never subtracted).</summary>
    void Unfuse();
}

/// <summary>A model whose Linear and Conv2d layers can be targeted by adapters.</summary>
public interface IAdaptableModel
{
    /// <summary>Every Linear and Conv2d layer, by module path.</summary>
    IReadOnlyDictionary<string, IAdaptableLayer> AdaptableLayers { get; }
}
