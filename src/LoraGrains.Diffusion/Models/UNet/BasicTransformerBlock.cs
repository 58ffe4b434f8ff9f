using LoraGrains.Diffusion.Models.Layers;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.UNet;

/// <summary>
/// diffusers' BasicTransformerBlock (norm_type "layer_norm"): self-attention, cross-attention to the text
/// embeddings and a GEGLU feed-forward, each pre-normalised and residual.
/// </summary>
internal sealed class BasicTransformerBlock : IAdaptableModel, IDisposable
{
    private readonly LayerNorm norm1;
    private readonly UNetAttention attn1;
    private readonly LayerNorm norm2;
    private readonly UNetAttention attn2;
    private readonly LayerNorm norm3;
    private readonly GegluFeedForward ff;

    public BasicTransformerBlock(ModelContext context, string name, long dim, long heads, long headDim, long crossAttentionDim, bool upcast)
    {
        norm1 = new LayerNorm(context, name + ".norm1", dim);
        attn1 = new UNetAttention(context, name + ".attn1", dim, null, heads, headDim, upcast);
        norm2 = new LayerNorm(context, name + ".norm2", dim);
        attn2 = new UNetAttention(context, name + ".attn2", dim, crossAttentionDim, heads, headDim, upcast);
        norm3 = new LayerNorm(context, name + ".norm3", dim);
        ff = new GegluFeedForward(context, name + ".ff", dim);
        AdaptableLayers = AdaptableLayerIndex.Create([attn1, attn2, ff]);
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, IAdaptableLayer> AdaptableLayers { get; }

    /// <summary>Transforms tokens <paramref name="x"/> [B, L, C] attending to <paramref name="context"/> [B, S, Cctx].</summary>
    public Tensor Forward(Tensor x, Tensor context)
    {
        using var scope = TensorScope.Enter();
        // Each sub-layer's output is a fresh tensor, so the residual is added in place into it.
        var n = norm1.Forward(x);
        var h = attn1.Forward(n, null).AddInPlace(x);
        n.Dispose();

        n = norm2.Forward(h);
        var h2 = attn2.Forward(n, context).AddInPlace(h);
        n.Dispose();
        h.Dispose();

        n = norm3.Forward(h2);
        var h3 = ff.Forward(n).AddInPlace(h2);
        return scope.MoveToOuter(h3);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        norm1.Dispose();
        attn1.Dispose();
        norm2.Dispose();
        attn2.Dispose();
        norm3.Dispose();
        ff.Dispose();
    }
}
