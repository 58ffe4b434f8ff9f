using LoraGrains.Diffusion.Models.Layers;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.UNet;

/// <summary>
/// diffusers' FeedForward with activation "geglu": ff.net.0.proj Linear(C, 2·inner) split into value and gate,
/// value · gelu(gate), then ff.net.2 Linear(inner, C).
/// </summary>
internal sealed class GegluFeedForward : IAdaptableModel, IDisposable
{
    private readonly Linear proj;
    private readonly Linear output;

    public GegluFeedForward(ModelContext context, string name, long dim, long mult = 4)
    {
        var inner = dim * mult;
        proj = new Linear(context, name + ".net.0.proj", dim, inner * 2);
        output = new Linear(context, name + ".net.2", inner, dim);
        AdaptableLayers = AdaptableLayerIndex.Create([proj, output]);
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, IAdaptableLayer> AdaptableLayers { get; }

    /// <summary>Applies the feed-forward to tokens <paramref name="x"/> [B, L, C].</summary>
    public Tensor Forward(Tensor x)
    {
        using var scope = TensorScope.Enter();
        var projected = proj.Forward(x);
        var halves = projected.Chunk(2, -1);
        // gelu(gate) is a fresh tensor, so the product can be formed in place in it.
        var gated = halves[1].Gelu().MulInPlace(halves[0]);
        projected.Dispose();
        halves[0].Dispose();
        halves[1].Dispose();
        return scope.MoveToOuter(output.Forward(gated));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        proj.Dispose();
        output.Dispose();
    }
}
