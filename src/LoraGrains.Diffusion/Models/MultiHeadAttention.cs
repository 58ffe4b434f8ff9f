using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models;

/// <summary>
/// The head split, scaled dot-product attention and head merge that every attention module here shares
/// (CLIP's self-attention, the UNet's self- and cross-attention, the VAE's spatial attention); each module
/// keeps only its own projections, normalisation and residual.
/// </summary>
internal static class MultiHeadAttention
{
    /// <summary>
    /// Attends from the projected queries <paramref name="q"/> [B, L, heads·d] to the projected keys and values
    /// <paramref name="k"/>, <paramref name="v"/> [B, S, heads·d] with scale d^-0.5, as diffusers' and
    /// transformers' SDPA paths do; returns the merged heads [B, L, heads·d] in the dtype of <paramref name="q"/>.
    /// The inputs stay the caller's; every intermediate is freed before returning.
    /// </summary>
    /// <param name="q">Projected queries.</param>
    /// <param name="k">Projected keys.</param>
    /// <param name="v">Projected values.</param>
    /// <param name="heads">Number of heads; the width must divide evenly.</param>
    /// <param name="isCausal">Mask out keys after each query (CLIP's text encoder).</param>
    /// <param name="upcast">Compute the attention in float32 when the inputs are in half precision (diffusers' <c>upcast_attention</c>).</param>
    public static Tensor Attend(Tensor q, Tensor k, Tensor v, long heads, bool isCausal = false, bool upcast = false)
    {
        using var scope = TensorScope.Enter();
        long batch = q.Size(0), width = q.Size(-1), headDim = width / heads;
        var dtype = q.DType;
        var qh = SplitHeads(q, heads, headDim);
        var kh = SplitHeads(k, heads, headDim);
        var vh = SplitHeads(v, heads, headDim);
        if (upcast && dtype != DType.Float32)
        {
            qh = qh.ReplacedBy(qh.To(DType.Float32));
            kh = kh.ReplacedBy(kh.To(DType.Float32));
            vh = vh.ReplacedBy(vh.To(DType.Float32));
        }

        var attended = Functional.ScaledDotProductAttention(qh, kh, vh, isCausal: isCausal, scale: 1.0 / Math.Sqrt(headDim));
        // Free the head views (and any float32 copies) now rather than at the end of the caller's pass.
        qh.Dispose();
        kh.Dispose();
        vh.Dispose();
        if (attended.DType != dtype) attended = attended.ReplacedBy(attended.To(dtype));

        // [B, heads, L, d] → [B, L, heads·d]: the one copy of the merge, as in diffusers and transformers.
        Tensor merged;
        using (var transposed = attended.Transpose(1, 2)) merged = transposed.Reshape(batch, -1, width);
        attended.Dispose();
        return scope.MoveToOuter(merged);
    }

    /// <summary>[B, L, heads·d] → a [B, heads, L, d] view.</summary>
    private static Tensor SplitHeads(Tensor t, long heads, long headDim)
    {
        using var split = t.View(t.Size(0), -1, heads, headDim);
        return split.Transpose(1, 2);
    }
}
