using LoraGrains.Diffusion.Models.Layers;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.TextEncoder;

/// <summary>CLIP's causal multi-head self-attention (<c>self_attn</c>: <c>q_proj</c>, <c>k_proj</c>, <c>v_proj</c>, <c>out_proj</c>).</summary>
public sealed class ClipAttention : IAdaptableModel, IDisposable
{
    private readonly int heads;

    /// <summary>Loads the four projections under <paramref name="name"/> (e.g. <c>text_model.encoder.layers.0.self_attn</c>).</summary>
    public ClipAttention(ModelContext context, string name, ClipTextConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        heads = config.NumAttentionHeads;
        QProj = new Linear(context, $"{name}.q_proj", config.HiddenSize, config.HiddenSize);
        KProj = new Linear(context, $"{name}.k_proj", config.HiddenSize, config.HiddenSize);
        VProj = new Linear(context, $"{name}.v_proj", config.HiddenSize, config.HiddenSize);
        OutProj = new Linear(context, $"{name}.out_proj", config.HiddenSize, config.HiddenSize);
        AdaptableLayers = AdaptableLayerIndex.Create([QProj, KProj, VProj, OutProj]);
    }

    /// <summary>Query projection.</summary>
    public Linear QProj { get; }

    /// <summary>Key projection.</summary>
    public Linear KProj { get; }

    /// <summary>Value projection.</summary>
    public Linear VProj { get; }

    /// <summary>Output projection.</summary>
    public Linear OutProj { get; }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, IAdaptableLayer> AdaptableLayers { get; }

    /// <summary>Attends over [B, S, hidden] with a causal mask; returns [B, S, hidden].</summary>
    public Tensor Forward(Tensor x)
    {
        using var scope = TensorScope.Enter();
        // transformers scales q by head_dim^-0.5 before Q·Kᵀ; SDPA applies the same factor to the product.
        var attended = MultiHeadAttention.Attend(QProj.Forward(x), KProj.Forward(x), VProj.Forward(x), heads, isCausal: true);
        return scope.MoveToOuter(OutProj.Forward(attended));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        QProj.Dispose();
        KProj.Dispose();
        VProj.Dispose();
        OutProj.Dispose();
    }
}
