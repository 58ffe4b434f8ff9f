namespace LoraGrains.Diffusion.Models.TextEncoder;

/// <summary>
/// The architecture of a transformers <c>CLIPTextModel</c> (its <c>text_encoder/config.json</c>). Defaults are
/// transformers' <c>CLIPTextConfig</c> defaults for keys the file leaves out.
/// </summary>
public sealed record ClipTextConfig
{
    /// <summary>Width of the hidden states (<c>hidden_size</c>).</summary>
    public int HiddenSize { get; init; } = 512;

    /// <summary>Width of the MLP (<c>intermediate_size</c>).</summary>
    public int IntermediateSize { get; init; } = 2048;

    /// <summary>Encoder layers (<c>num_hidden_layers</c>).</summary>
    public int NumHiddenLayers { get; init; } = 12;

    /// <summary>Attention heads (<c>num_attention_heads</c>); must divide <see cref="HiddenSize"/>.</summary>
    public int NumAttentionHeads { get; init; } = 8;

    /// <summary>Longest token sequence (<c>max_position_embeddings</c>).</summary>
    public int MaxPositionEmbeddings { get; init; } = 77;

    /// <summary>Token vocabulary size (<c>vocab_size</c>).</summary>
    public int VocabSize { get; init; } = 49408;

    /// <summary>MLP activation (<c>hidden_act</c>).</summary>
    public ClipActivation HiddenAct { get; init; } = ClipActivation.QuickGelu;

    /// <summary>LayerNorm epsilon (<c>layer_norm_eps</c>).</summary>
    public double LayerNormEps { get; init; } = 1e-5;

    /// <summary>
    /// End-of-text id (<c>eos_token_id</c>). SD-1.5's config keeps the legacy value 2, for which transformers pools
    /// the row at argmax(input_ids) (the highest id is &lt;|endoftext|&gt;) instead of the first row holding this id.
    /// </summary>
    public int EosTokenId { get; init; } = 49407;

    /// <summary>Start-of-text id (<c>bos_token_id</c>); informational.</summary>
    public int BosTokenId { get; init; } = 49406;

    /// <summary>Padding id (<c>pad_token_id</c>); informational.</summary>
    public int PadTokenId { get; init; } = 1;

    /// <summary>Width of one attention head.</summary>
    public int HeadDim => HiddenSize / NumAttentionHeads;

    /// <summary>Reads a transformers <c>text_encoder/config.json</c>.</summary>
    /// <exception cref="ModelLoadException">The file cannot be read, is not a config, or describes an unsupported architecture.</exception>
    public static ClipTextConfig FromFile(string path) => From(ConfigReader.Load(path));

    /// <summary>Parses the JSON text of a transformers CLIPTextConfig; <paramref name="source"/> names it in messages.</summary>
    /// <exception cref="ModelLoadException">Invalid JSON or an unsupported architecture.</exception>
    public static ClipTextConfig FromJson(string json, string source = "text_encoder/config.json") => From(ConfigReader.Parse(json, source));

    /// <summary>Maps a transformers <c>hidden_act</c> name to <see cref="ClipActivation"/>.</summary>
    /// <exception cref="ModelLoadException">An activation this engine does not implement.</exception>
    public static ClipActivation ParseActivation(string name, string source = "text encoder config") => name switch
    {
        "quick_gelu" => ClipActivation.QuickGelu,
        "gelu" => ClipActivation.Gelu,
        _ => throw new ModelLoadException($"{source}: unsupported hidden_act '{name}' (supported: quick_gelu, gelu)"),
    };

    private static ClipTextConfig From(ConfigReader r)
    {
        var config = new ClipTextConfig
        {
            HiddenSize = r.Int("hidden_size", 512),
            IntermediateSize = r.Int("intermediate_size", 2048),
            NumHiddenLayers = r.Int("num_hidden_layers", 12),
            NumAttentionHeads = r.Int("num_attention_heads", 8),
            MaxPositionEmbeddings = r.Int("max_position_embeddings", 77),
            VocabSize = r.Int("vocab_size", 49408),
            HiddenAct = ParseActivation(r.String("hidden_act", "quick_gelu"), r.Source),
            LayerNormEps = r.Double("layer_norm_eps", 1e-5),
            EosTokenId = r.Int("eos_token_id", 49407),
            BosTokenId = r.Int("bos_token_id", 49406),
            PadTokenId = r.Int("pad_token_id", 1),
        };
        config.Validate(r.Source);
        return config;
    }

    /// <summary>Checks that the sizes are consistent.</summary>
    /// <param name="source">Names the config in messages.</param>
    /// <exception cref="ModelLoadException">The first problem found.</exception>
    public void Validate(string source = "text encoder config")
    {
        ModelLoadException Bad(string problem) => new($"{source}: {problem}");

        if (HiddenSize <= 0) throw Bad($"'hidden_size' must be positive, got {HiddenSize}");
        if (IntermediateSize <= 0) throw Bad($"'intermediate_size' must be positive, got {IntermediateSize}");
        if (NumHiddenLayers <= 0) throw Bad($"'num_hidden_layers' must be positive, got {NumHiddenLayers}");
        if (NumAttentionHeads <= 0 || HiddenSize % NumAttentionHeads != 0)
            throw Bad($"'hidden_size' {HiddenSize} is not divisible by 'num_attention_heads' {NumAttentionHeads}");
        if (MaxPositionEmbeddings <= 0) throw Bad($"'max_position_embeddings' must be positive, got {MaxPositionEmbeddings}");
        if (VocabSize <= 0) throw Bad($"'vocab_size' must be positive, got {VocabSize}");
        if (!Enum.IsDefined(HiddenAct)) throw Bad($"unknown activation {HiddenAct}");
        if (LayerNormEps <= 0) throw Bad($"'layer_norm_eps' must be positive, got {LayerNormEps}");
    }
}
