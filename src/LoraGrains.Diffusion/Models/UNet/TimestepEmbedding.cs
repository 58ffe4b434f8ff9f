using LoraGrains.Diffusion.Models.Layers;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.UNet;

/// <summary>diffusers' TimestepEmbedding: linear_1 → silu → linear_2.</summary>
internal sealed class TimestepEmbedding
{
    private readonly Linear linear1;
    private readonly Linear linear2;

    public TimestepEmbedding(UNetLayers layers, string name, long inChannels, long embeddingDim)
    {
        linear1 = layers.Linear(name + ".linear_1", inChannels, embeddingDim);
        linear2 = layers.Linear(name + ".linear_2", embeddingDim, embeddingDim);
    }

    /// <summary>Embeds the sinusoidal projection <paramref name="x"/> [B, inChannels].</summary>
    public Tensor Forward(Tensor x)
    {
        using var h = linear1.Forward(x).SiluInPlace();
        return linear2.Forward(h);
    }
}
