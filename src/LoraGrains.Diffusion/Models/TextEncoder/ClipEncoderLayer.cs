using LoraGrains.Diffusion.Models.Layers;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.TextEncoder;

/// <summary>One pre-LayerNorm transformer layer of the CLIP text encoder: x + attn(ln1(x)), then + mlp(ln2(·)).</summary>
public sealed class ClipEncoderLayer : IAdaptableModel, IDisposable
{
    /// <summary>Loads <c>layer_norm1</c>, <c>self_attn</c>, <c>layer_norm2</c> and <c>mlp</c> under <paramref name="name"/>.</summary>
    public ClipEncoderLayer(ModelContext context, string name, ClipTextConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        LayerNorm1 = new LayerNorm(context, $"{name}.layer_norm1", config.HiddenSize, config.LayerNormEps);
        SelfAttn = new ClipAttention(context, $"{name}.self_attn", config);
        LayerNorm2 = new LayerNorm(context, $"{name}.layer_norm2", config.HiddenSize, config.LayerNormEps);
        Mlp = new ClipMlp(context, $"{name}.mlp", config);
        AdaptableLayers = AdaptableLayerIndex.Create([SelfAttn, Mlp]);
    }

    /// <summary>Normalisation before attention.</summary>
    public LayerNorm LayerNorm1 { get; }

    /// <summary>Causal self-attention.</summary>
    public ClipAttention SelfAttn { get; }

    /// <summary>Normalisation before the MLP.</summary>
    public LayerNorm LayerNorm2 { get; }

    /// <summary>Feed-forward block.</summary>
    public ClipMlp Mlp { get; }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, IAdaptableLayer> AdaptableLayers { get; }

    /// <summary>Applies the layer to [B, S, hidden].</summary>
    public Tensor Forward(Tensor x)
    {
        using var scope = TensorScope.Enter();
        var h = x + SelfAttn.Forward(LayerNorm1.Forward(x));
        h.AddInPlace(Mlp.Forward(LayerNorm2.Forward(h)));
        return scope.MoveToOuter(h);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        LayerNorm1.Dispose();
        SelfAttn.Dispose();
        LayerNorm2.Dispose();
        Mlp.Dispose();
    }
}
