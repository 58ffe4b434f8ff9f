using LoraGrains.Diffusion.Models.Layers;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.UNet;

/// <summary>
/// diffusers' Attention with AttnProcessor2_0: bias-free to_q/to_k/to_v, heads split as [B, heads, L, head_dim],
/// scaled dot-product attention with scale head_dim^-0.5, heads merged, to_out.0 with bias.
/// </summary>
internal sealed class UNetAttention
{
    // The fused kernels (libtorch >= 2.1) accumulate the softmax in float32 anyway, which is why diffusers'
    // SDPA processor ignores upcast_attention; only the matmul fallback needs the explicit upcast.
    private static readonly bool FusedAttention = Torch.Torch.LibtorchVersion >= new Version(2, 1);

    private readonly Linear toQ;
    private readonly Linear toK;
    private readonly Linear toV;
    private readonly Linear toOut;
    private readonly long heads;
    private readonly long headDim;
    private readonly double scale;
    private readonly bool upcast;

    /// <param name="layers">Layer source.</param>
    /// <param name="name">Module path, e.g. <c>…transformer_blocks.0.attn2</c>.</param>
    /// <param name="queryDim">Width of the query tokens.</param>
    /// <param name="contextDim">Width of the tokens attended to; null for self-attention.</param>
    /// <param name="heads">Number of heads.</param>
    /// <param name="headDim">Width of one head.</param>
    /// <param name="upcast">Compute attention in float32 under half precision (upcast_attention).</param>
    public UNetAttention(UNetLayers layers, string name, long queryDim, long? contextDim, long heads, long headDim, bool upcast)
    {
        var inner = heads * headDim;
        toQ = layers.Linear(name + ".to_q", queryDim, inner, bias: false);
        toK = layers.Linear(name + ".to_k", contextDim ?? queryDim, inner, bias: false);
        toV = layers.Linear(name + ".to_v", contextDim ?? queryDim, inner, bias: false);
        toOut = layers.Linear(name + ".to_out.0", inner, queryDim);
        this.heads = heads;
        this.headDim = headDim;
        scale = 1.0 / Math.Sqrt(headDim);
        this.upcast = upcast && !FusedAttention;
    }

    /// <summary>Attends from <paramref name="x"/> [B, L, C] to <paramref name="context"/> [B, S, Cctx] (to itself when null).</summary>
    public Tensor Forward(Tensor x, Tensor? context)
    {
        using var scope = TensorScope.Enter();
        var source = context ?? x;
        var batch = x.Size(0);
        var qp = toQ.Forward(x);
        var kp = toK.Forward(source);
        var vp = toV.Forward(source);
        var dtype = qp.DType;
        var q = SplitHeads(qp, batch);
        var k = SplitHeads(kp, batch);
        var v = SplitHeads(vp, batch);
        if (upcast && dtype != DType.Float32)
        {
            q = q.To(DType.Float32);
            k = k.To(DType.Float32);
            v = v.To(DType.Float32);
        }

        var attended = Functional.ScaledDotProductAttention(q, k, v, scale: scale);
        // The scope would free these too, but only after to_out: free them (and the views) now.
        foreach (var t in (Tensor[])[q, k, v, qp, kp, vp]) t.Dispose();
        if (attended.DType != dtype) attended = attended.To(dtype);

        // [B, heads, L, d] → [B, L, heads·d]: the one copy of the merge, as diffusers.
        Tensor merged;
        using (var transposed = attended.Transpose(1, 2)) merged = transposed.Reshape(batch, -1, heads * headDim);
        attended.Dispose();
        return scope.MoveToOuter(toOut.Forward(merged));
    }

    /// <summary>[B, L, heads·d] → a [B, heads, L, d] view.</summary>
    private Tensor SplitHeads(Tensor t, long batch)
    {
        using var split = t.View(batch, -1, heads, headDim);
        return split.Transpose(1, 2);
    }
}
