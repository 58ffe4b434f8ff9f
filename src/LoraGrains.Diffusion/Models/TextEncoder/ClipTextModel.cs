using LoraGrains.Diffusion.Models.Layers;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.TextEncoder;

/// <summary>
/// transformers' <c>CLIPTextModel</c>: token + position embeddings, pre-LayerNorm causal transformer layers,
/// <c>final_layer_norm</c>. Weights are named as in transformers (<c>text_model.embeddings.token_embedding.weight</c>,
/// <c>text_model.encoder.layers.{i}.self_attn.q_proj</c>, …). Attention masks are not supported: SD pipelines
/// encode padded prompts without one.
/// </summary>
public sealed class ClipTextModel : IAdaptableModel, IDisposable
{
    private const string Prefix = "text_model";

    /// <summary>Legacy <c>eos_token_id</c> of SD-1.x configs; transformers then pools at argmax(input_ids).</summary>
    private const int LegacyEosTokenId = 2;

    private ClipTextModel(ModelContext context, ClipTextConfig config)
    {
        Config = config;
        Device = context.Device;
        TokenEmbedding = context.Load($"{Prefix}.embeddings.token_embedding.weight", config.VocabSize, config.HiddenSize);
        PositionEmbedding = context.Load($"{Prefix}.embeddings.position_embedding.weight", config.MaxPositionEmbeddings, config.HiddenSize);
        ConsumePositionIds(context, config);
        var layers = new ClipEncoderLayer[config.NumHiddenLayers];
        for (var i = 0; i < layers.Length; i++) layers[i] = new ClipEncoderLayer(context, $"{Prefix}.encoder.layers.{i}", config);
        Layers = layers;
        FinalLayerNorm = new LayerNorm(context, $"{Prefix}.final_layer_norm", config.HiddenSize, config.LayerNormEps);
        AdaptableLayers = AdaptableLayerIndex.Create(Layers);
        UnusedKeys = context.Weights.Unused.ToList();
    }

    /// <summary>The architecture.</summary>
    public ClipTextConfig Config { get; }

    /// <summary>Device of the weights; input ids are moved here.</summary>
    public Device Device { get; }

    /// <summary>Token embedding table [vocab, hidden].</summary>
    public Tensor TokenEmbedding { get; }

    /// <summary>Position embedding table [max_positions, hidden].</summary>
    public Tensor PositionEmbedding { get; }

    /// <summary>The encoder layers.</summary>
    public IReadOnlyList<ClipEncoderLayer> Layers { get; }

    /// <summary>Normalisation applied to the last (or, with CLIP skip, an earlier) layer's output.</summary>
    public LayerNorm FinalLayerNorm { get; }

    /// <summary>
    /// Every Linear layer by transformers module path, e.g. <c>text_model.encoder.layers.0.self_attn.q_proj</c>.
    /// </summary>
    public IReadOnlyDictionary<string, IAdaptableLayer> AdaptableLayers { get; }

    /// <summary>Tensors of the state dict this model did not use, sorted (empty for a clean transformers checkpoint).</summary>
    public IReadOnlyList<string> UnusedKeys { get; }

    /// <summary>Builds the text encoder from <paramref name="context"/>'s weights. On failure nothing stays allocated.</summary>
    /// <exception cref="ModelLoadException">An invalid config, or a tensor that is missing or has the wrong shape.</exception>
    public static ClipTextModel Load(ModelContext context, ClipTextConfig config)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        return context.Build(c => new ClipTextModel(c, config));
    }

    /// <summary>
    /// The prompt embedding as diffusers' <c>encode_prompt</c> computes it: with <paramref name="clipSkip"/> = 0 the
    /// <c>last_hidden_state</c>; with k &gt; 0, <c>final_layer_norm(hidden_states[-(k+1)])</c>, i.e. the last k layers are
    /// skipped (k = 1 is A1111's "CLIP skip 2").
    /// </summary>
    /// <param name="inputIds">Token ids [B, S], S ≤ max_position_embeddings, any integer dtype.</param>
    /// <param name="clipSkip">Layers to skip at the end, 0 to the number of layers.</param>
    /// <returns>[B, S, hidden].</returns>
    public Tensor Encode(Tensor inputIds, int clipSkip = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(clipSkip);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(clipSkip, Layers.Count);
        using var scope = TensorScope.Enter();
        var h = Embed(PrepareIds(inputIds));
        for (var i = 0; i < Layers.Count - clipSkip; i++) h = Layers[i].Forward(h);
        return scope.MoveToOuter(FinalLayerNorm.Forward(h));
    }

    /// <summary>Runs every layer and returns transformers' last_hidden_state, hidden_states[-2] and pooler_output.</summary>
    /// <param name="inputIds">Token ids [B, S], S ≤ max_position_embeddings, any integer dtype.</param>
    public ClipTextOutput Forward(Tensor inputIds)
    {
        using var scope = TensorScope.Enter();
        var ids = PrepareIds(inputIds);
        var h = Embed(ids);
        var penultimate = h;
        foreach (var layer in Layers)
        {
            penultimate = h;
            h = layer.Forward(h);
        }

        var last = FinalLayerNorm.Forward(h);
        var pooled = PoolPrepared(last, ids);
        return new ClipTextOutput(scope.MoveToOuter(last), scope.MoveToOuter(penultimate), scope.MoveToOuter(pooled));
    }

    /// <summary>
    /// transformers' pooler: the row of <paramref name="lastHiddenState"/> [B, S, hidden] at the end-of-text token of each
    /// sequence — at argmax(input_ids) for the legacy <c>eos_token_id</c> 2 (SD-1.x configs), else at the first
    /// position holding <see cref="ClipTextConfig.EosTokenId"/>.
    /// </summary>
    /// <returns>[B, hidden].</returns>
    public Tensor Pool(Tensor lastHiddenState, Tensor inputIds)
    {
        ArgumentNullException.ThrowIfNull(lastHiddenState);
        using var scope = TensorScope.Enter();
        return scope.MoveToOuter(PoolPrepared(lastHiddenState, PrepareIds(inputIds)));
    }

    private Tensor PoolPrepared(Tensor lastHiddenState, Tensor ids)
    {
        long b = ids.Size(0), s = ids.Size(1);
        if (lastHiddenState.Dim != 3 || lastHiddenState.Size(0) != b || lastHiddenState.Size(1) != s)
            throw new ArgumentException($"hidden states [{string.Join(", ", lastHiddenState.Shape)}] do not match input ids [{b}, {s}]", nameof(lastHiddenState));
        var position = Config.EosTokenId == LegacyEosTokenId
            ? ids.ArgMax(-1)
            : ids.Eq(Config.EosTokenId).To(DType.Int32).ArgMax(-1); // first eos: argmax returns the first maximum
        // Row r of the flattened [B·S, hidden] is (batch r / S, position r % S); all int64.
        var rows = Torch.Torch.Arange(0, b * s, s, DType.Int64, ids.Device) + position;
        return lastHiddenState.Reshape(b * s, -1).IndexSelect(0, rows);
    }

    /// <summary>Checks shape and range of the ids and returns them as int64 on the model's device.</summary>
    private Tensor PrepareIds(Tensor inputIds)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        if (inputIds.Dim != 2 || inputIds.Size(1) < 1)
            throw new ArgumentException($"input ids must be [batch, sequence], got [{string.Join(", ", inputIds.Shape)}]", nameof(inputIds));
        if (inputIds.DType.IsFloatingPoint() || inputIds.DType == DType.Bool)
            throw new ArgumentException($"input ids must be integers, got {inputIds.DType}", nameof(inputIds));
        if (inputIds.Size(1) > Config.MaxPositionEmbeddings)
            throw new ArgumentException($"{inputIds.Size(1)} tokens exceed max_position_embeddings {Config.MaxPositionEmbeddings}", nameof(inputIds));
        var ids = inputIds.To(Device, DType.Int64);
        // Checked here because an out-of-range index is a device-side assert on CUDA, which poisons the context.
        using (var min = ids.Min())
        using (var max = ids.Max())
        {
            if (min.Item() < 0 || max.Item() >= Config.VocabSize)
                throw new ArgumentException($"input ids must lie in [0, {Config.VocabSize}), got [{min.Item()}, {max.Item()}]", nameof(inputIds));
        }

        return ids;
    }

    private Tensor Embed(Tensor ids)
    {
        long b = ids.Size(0), s = ids.Size(1);
        var tokens = TokenEmbedding.IndexSelect(0, ids.Reshape(-1)).View(b, s, -1);
        return tokens.AddInPlace(PositionEmbedding.Narrow(0, 0, s));
    }

    /// <summary>
    /// Marks the <c>position_ids</c> buffer older transformers versions saved as used: it is always
    /// arange(max_positions) (transformers ≥ 4.31 neither saves nor reads it), so it carries no weights.
    /// </summary>
    private static void ConsumePositionIds(ModelContext context, ClipTextConfig config)
    {
        var name = $"{Prefix}.embeddings.position_ids";
        if (!context.Weights.Contains(name)) return;
        using var ids = context.Weights.Load(name, Device.Cpu, DType.Int64, 1, config.MaxPositionEmbeddings);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        TokenEmbedding.Dispose();
        PositionEmbedding.Dispose();
        foreach (var layer in Layers) layer.Dispose();
        FinalLayerNorm.Dispose();
    }
}
