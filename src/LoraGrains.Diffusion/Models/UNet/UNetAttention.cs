using LoraGrains.Diffusion.Models.Layers;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.UNet;

/// <summary>
/// diffusers' Attention with AttnProcessor2_0: bias-free to_q/to_k/to_v, scaled dot-product attention over
/// <c>heads</c> heads with scale head_dim^-0.5, to_out.0 with bias.
/// </summary>
internal sealed class UNetAttention : IAdaptableModel, IDisposable
{
    // The fused kernels (libtorch >= 2.1) accumulate the softmax in float32 anyway, which is why diffusers'
    // SDPA processor ignores upcast_attention; only the matmul fallback needs the explicit upcast.
    private static readonly bool FusedAttention = Torch.Torch.LibtorchVersion >= new Version(2, 1);

    private readonly Linear toQ;
    private readonly Linear toK;
    private readonly Linear toV;
    private readonly Linear toOut;
    private readonly long heads;
    private readonly bool upcast;

    /// <param name="context">Weights, device and dtype.</param>
    /// <param name="name">Module path, e.g. <c>…transformer_blocks.0.attn2</c>.</param>
    /// <param name="queryDim">Width of the query tokens.</param>
    /// <param name="contextDim">Width of the tokens attended to; null for self-attention.</param>
    /// <param name="heads">Number of heads.</param>
    /// <param name="headDim">Width of one head.</param>
    /// <param name="upcast">Compute attention in float32 under half precision (upcast_attention).</param>
    public UNetAttention(ModelContext context, string name, long queryDim, long? contextDim, long heads, long headDim, bool upcast)
    {
        var inner = heads * headDim;
        toQ = new Linear(context, name + ".to_q", queryDim, inner, bias: false);
        toK = new Linear(context, name + ".to_k", contextDim ?? queryDim, inner, bias: false);
        toV = new Linear(context, name + ".to_v", contextDim ?? queryDim, inner, bias: false);
        toOut = new Linear(context, name + ".to_out.0", inner, queryDim);
        AdaptableLayers = AdaptableLayerIndex.Create([toQ, toK, toV, toOut]);
        this.heads = heads;
        this.upcast = upcast && !FusedAttention;
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, IAdaptableLayer> AdaptableLayers { get; }

    /// <summary>Attends from <paramref name="x"/> [B, L, C] to <paramref name="context"/> [B, S, Cctx] (to itself when null).</summary>
    public Tensor Forward(Tensor x, Tensor? context)
    {
        using var scope = TensorScope.Enter();
        var source = context ?? x;
        var q = toQ.Forward(x);
        var k = toK.Forward(source);
        var v = toV.Forward(source);
        var merged = MultiHeadAttention.Attend(q, k, v, heads, upcast: upcast);
        // The scope would free the projections too, but only after to_out: free them now.
        q.Dispose();
        k.Dispose();
        v.Dispose();
        return scope.MoveToOuter(toOut.Forward(merged));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        toQ.Dispose();
        toK.Dispose();
        toV.Dispose();
        toOut.Dispose();
    }
}
