using LoraGrains.Diffusion.Models.Blocks;
using LoraGrains.Diffusion.Models.Layers;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.Vae;

/// <summary>diffusers' <c>UpDecoderBlock2D</c>: resnets (no time embedding) then an optional nearest ×2 upsampler.</summary>
public sealed class UpDecoderBlock2D : IAdaptableModel, IDisposable
{
    /// <summary>Loads <c>{name}.resnets.{i}</c> and, when <paramref name="addUpsample"/>, <c>{name}.upsamplers.0</c>.</summary>
    public UpDecoderBlock2D(ModelContext context, string name, long inChannels, long outChannels, int numLayers, int groups, double eps, bool addUpsample)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numLayers);
        var resnets = new ResnetBlock2D[numLayers];
        for (var i = 0; i < numLayers; i++)
            resnets[i] = new ResnetBlock2D(context, $"{name}.resnets.{i}", i == 0 ? inChannels : outChannels, outChannels, groups, eps);
        Resnets = resnets;
        if (addUpsample) Upsampler = new Upsample2D(context, $"{name}.upsamplers.0", outChannels, outChannels);
        AdaptableLayers = AdaptableLayerIndex.Create([.. Resnets, Upsampler]);
    }

    /// <summary>The resnets, in order.</summary>
    public IReadOnlyList<ResnetBlock2D> Resnets { get; }

    /// <summary>The upsampler, absent in the last block.</summary>
    public Upsample2D? Upsampler { get; }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, IAdaptableLayer> AdaptableLayers { get; }

    /// <summary>Applies the block.</summary>
    public Tensor Forward(Tensor x)
    {
        using var scope = TensorScope.Enter();
        var h = Resnets[0].Forward(x);
        for (var i = 1; i < Resnets.Count; i++) h = h.ReplacedBy(Resnets[i].Forward(h));
        if (Upsampler is not null) h = h.ReplacedBy(Upsampler.Forward(h));
        return scope.MoveToOuter(h);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var r in Resnets) r.Dispose();
        Upsampler?.Dispose();
    }
}
