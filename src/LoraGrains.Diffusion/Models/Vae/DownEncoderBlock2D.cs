using LoraGrains.Diffusion.Models.Blocks;
using LoraGrains.Diffusion.Models.Layers;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.Vae;

/// <summary>diffusers' <c>DownEncoderBlock2D</c>: resnets (no time embedding) then an optional VAE-style downsampler.</summary>
public sealed class DownEncoderBlock2D : IAdaptableModel, IDisposable
{
    /// <summary>Loads <c>{name}.resnets.{i}</c> and, when <paramref name="addDownsample"/>, <c>{name}.downsamplers.0</c>.</summary>
    public DownEncoderBlock2D(ModelContext context, string name, long inChannels, long outChannels, int numLayers, int groups, double eps, bool addDownsample)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numLayers);
        var resnets = new ResnetBlock2D[numLayers];
        for (var i = 0; i < numLayers; i++)
            resnets[i] = new ResnetBlock2D(context, $"{name}.resnets.{i}", i == 0 ? inChannels : outChannels, outChannels, groups, eps);
        Resnets = resnets;
        // padding 0: diffusers pads (0,1,0,1) before the stride-2 conv in the VAE encoder.
        if (addDownsample) Downsampler = new Downsample2D(context, $"{name}.downsamplers.0", outChannels, outChannels, padding: 0);
        AdaptableLayers = AdaptableLayerIndex.Create([.. Resnets, Downsampler]);
    }

    /// <summary>The resnets, in order.</summary>
    public IReadOnlyList<ResnetBlock2D> Resnets { get; }

    /// <summary>The downsampler, absent in the last block.</summary>
    public Downsample2D? Downsampler { get; }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, IAdaptableLayer> AdaptableLayers { get; }

    /// <summary>Applies the block.</summary>
    public Tensor Forward(Tensor x)
    {
        using var scope = TensorScope.Enter();
        var h = Resnets[0].Forward(x);
        for (var i = 1; i < Resnets.Count; i++) h = h.ReplacedBy(Resnets[i].Forward(h));
        if (Downsampler is not null) h = h.ReplacedBy(Downsampler.Forward(h));
        return scope.MoveToOuter(h);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var r in Resnets) r.Dispose();
        Downsampler?.Dispose();
    }
}
