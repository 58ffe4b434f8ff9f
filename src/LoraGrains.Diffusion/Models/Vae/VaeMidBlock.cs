using LoraGrains.Diffusion.Models.Blocks;
using LoraGrains.Diffusion.Models.Layers;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.Vae;

/// <summary>
/// The VAE's mid block (diffusers' <c>UNetMidBlock2D</c> without time embedding):
/// <c>resnets.0</c>, single-head <c>attentions.0</c>, <c>resnets.1</c>.
/// </summary>
public sealed class VaeMidBlock : IAdaptableModel, IDisposable
{
    /// <summary>Loads the block at <paramref name="name"/> (e.g. <c>decoder.mid_block</c>).</summary>
    public VaeMidBlock(ModelContext context, string name, long channels, int groups, double eps, bool addAttention)
    {
        Resnet0 = new ResnetBlock2D(context, $"{name}.resnets.0", channels, channels, groups, eps);
        // diffusers passes attention_head_dim = channels, so one head spanning all channels.
        if (addAttention) Attention = new SpatialSelfAttention(context, $"{name}.attentions.0", channels, groups, eps, heads: 1);
        Resnet1 = new ResnetBlock2D(context, $"{name}.resnets.1", channels, channels, groups, eps);
        AdaptableLayers = AdaptableLayerIndex.Create([Resnet0, Attention, Resnet1]);
    }

    /// <summary>First resnet.</summary>
    public ResnetBlock2D Resnet0 { get; }

    /// <summary>Attention between the resnets, or null when the config disables it.</summary>
    public SpatialSelfAttention? Attention { get; }

    /// <summary>Second resnet.</summary>
    public ResnetBlock2D Resnet1 { get; }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, IAdaptableLayer> AdaptableLayers { get; }

    /// <summary>Applies the block.</summary>
    public Tensor Forward(Tensor x)
    {
        using var scope = TensorScope.Enter();
        var h = Resnet0.Forward(x);
        if (Attention is not null) h = h.ReplacedBy(Attention.Forward(h));
        return scope.MoveToOuter(h.ReplacedBy(Resnet1.Forward(h)));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Resnet0.Dispose();
        Attention?.Dispose();
        Resnet1.Dispose();
    }
}
