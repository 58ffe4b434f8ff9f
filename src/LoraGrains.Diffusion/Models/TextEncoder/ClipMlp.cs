using LoraGrains.Diffusion.Models.Layers;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.TextEncoder;

/// <summary>CLIP's feed-forward block (<c>mlp</c>): <c>fc1</c> → activation → <c>fc2</c>.</summary>
public sealed class ClipMlp : IAdaptableModel, IDisposable
{
    private readonly ClipActivation activation;

    /// <summary>Loads <c>fc1</c> and <c>fc2</c> under <paramref name="name"/> (e.g. <c>text_model.encoder.layers.0.mlp</c>).</summary>
    public ClipMlp(ModelContext context, string name, ClipTextConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        activation = config.HiddenAct;
        Fc1 = new Linear(context, $"{name}.fc1", config.HiddenSize, config.IntermediateSize);
        Fc2 = new Linear(context, $"{name}.fc2", config.IntermediateSize, config.HiddenSize);
        AdaptableLayers = AdaptableLayerIndex.Create([Fc1, Fc2]);
    }

    /// <summary>Expansion layer.</summary>
    public Linear Fc1 { get; }

    /// <summary>Projection back to the hidden width.</summary>
    public Linear Fc2 { get; }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, IAdaptableLayer> AdaptableLayers { get; }

    /// <summary>Applies the block to [B, S, hidden].</summary>
    public Tensor Forward(Tensor x)
    {
        using var scope = TensorScope.Enter();
        var h = Fc1.Forward(x);
        h = activation switch
        {
            ClipActivation.QuickGelu => h.QuickGelu(),
            ClipActivation.Gelu => h.Gelu(),
            _ => throw new InvalidOperationException($"unknown activation {activation}"),
        };
        return scope.MoveToOuter(Fc2.Forward(h));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Fc1.Dispose();
        Fc2.Dispose();
    }
}
