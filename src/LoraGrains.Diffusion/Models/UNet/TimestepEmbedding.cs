using LoraGrains.Diffusion.Models.Layers;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.UNet;

/// <summary>diffusers' TimestepEmbedding: linear_1 → silu → linear_2.</summary>
internal sealed class TimestepEmbedding : IAdaptableModel, IDisposable
{
    private readonly Linear linear1;
    private readonly Linear linear2;

    public TimestepEmbedding(ModelContext context, string name, long inChannels, long embeddingDim)
    {
        linear1 = new Linear(context, name + ".linear_1", inChannels, embeddingDim);
        linear2 = new Linear(context, name + ".linear_2", embeddingDim, embeddingDim);
        AdaptableLayers = AdaptableLayerIndex.Create([linear1, linear2]);
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, IAdaptableLayer> AdaptableLayers { get; }

    /// <summary>Embeds the sinusoidal projection <paramref name="x"/> [B, inChannels].</summary>
    public Tensor Forward(Tensor x)
    {
        using var h = linear1.Forward(x).SiluInPlace();
        return linear2.Forward(h);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        linear1.Dispose();
        linear2.Dispose();
    }
}
