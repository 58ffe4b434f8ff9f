using LoraGrains.Diffusion.Models.Layers;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.UNet;

/// <summary>
/// diffusers' Transformer2DModel on continuous input: GroupNorm (eps 1e-6), proj_in (1×1 conv, or Linear over
/// tokens with use_linear_projection), transformer blocks over the H·W tokens, proj_out, plus the input.
/// </summary>
internal sealed class Transformer2DModel : IAdaptableModel, IDisposable
{
    private readonly GroupNorm norm;
    private readonly Conv2d? projInConv;
    private readonly Linear? projInLinear;
    private readonly BasicTransformerBlock[] blocks;
    private readonly Conv2d? projOutConv;
    private readonly Linear? projOutLinear;
    private readonly long inner;

    public Transformer2DModel(ModelContext context, string name, long channels, long heads, int depth, long crossAttentionDim,
        int groups, bool linearProjection, bool upcast)
    {
        // diffusers: head size = channels // heads, width inside = heads · head size.
        var headDim = channels / heads;
        inner = heads * headDim;
        norm = new GroupNorm(context, name + ".norm", groups, channels, 1e-6);
        if (linearProjection) projInLinear = new Linear(context, name + ".proj_in", channels, inner);
        else projInConv = new Conv2d(context, name + ".proj_in", channels, inner, 1);
        blocks = new BasicTransformerBlock[depth];
        for (var i = 0; i < depth; i++)
            blocks[i] = new BasicTransformerBlock(context, $"{name}.transformer_blocks.{i}", inner, heads, headDim, crossAttentionDim, upcast);
        if (linearProjection) projOutLinear = new Linear(context, name + ".proj_out", inner, channels);
        else projOutConv = new Conv2d(context, name + ".proj_out", inner, channels, 1);
        AdaptableLayers = AdaptableLayerIndex.Create(blocks, projInConv, projInLinear, projOutConv, projOutLinear);
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, IAdaptableLayer> AdaptableLayers { get; }

    /// <summary>Applies the transformer to <paramref name="x"/> [B, C, H, W] with text embeddings <paramref name="context"/>.</summary>
    public Tensor Forward(Tensor x, Tensor context)
    {
        // Views are disposed as soon as they are used: a live view keeps its base's memory alive.
        using var scope = TensorScope.Enter();
        long b = x.Size(0), c = x.Size(1), h = x.Size(2), w = x.Size(3);
        var tokens = norm.Forward(x);
        if (projInConv is not null) tokens = tokens.ReplacedBy(projInConv.Forward(tokens));
        tokens = tokens.ReplacedBy(ToTokens(tokens, b, h * w));
        if (projInLinear is not null) tokens = tokens.ReplacedBy(projInLinear.Forward(tokens));

        foreach (var block in blocks) tokens = tokens.ReplacedBy(block.Forward(tokens, context));

        Tensor output;
        if (projOutConv is not null)
        {
            using (var nhwc = tokens.View(b, h, w, inner))
            using (var nchw = nhwc.Permute(0, 3, 1, 2))
            {
                tokens = tokens.ReplacedBy(nchw.Contiguous());
            }

            output = projOutConv.Forward(tokens).AddInPlace(x);
        }
        else
        {
            tokens = tokens.ReplacedBy(projOutLinear!.Forward(tokens));
            // Adding the residual to the channels-last view writes NCHW directly, saving diffusers' .contiguous() pass.
            using var nhwc = tokens.View(b, h, w, c);
            using var nchw = nhwc.Permute(0, 3, 1, 2);
            output = x + nchw;
        }

        tokens.Dispose();
        return scope.MoveToOuter(output);
    }

    /// <summary>[B, C, H, W] → [B, H·W, C] (a copy, as diffusers' permute + reshape).</summary>
    private static Tensor ToTokens(Tensor spatial, long batch, long length)
    {
        using var nhwc = spatial.Permute(0, 2, 3, 1);
        return nhwc.Reshape(batch, length, spatial.Size(1));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        norm.Dispose();
        projInConv?.Dispose();
        projInLinear?.Dispose();
        foreach (var block in blocks) block.Dispose();
        projOutConv?.Dispose();
        projOutLinear?.Dispose();
    }
}
