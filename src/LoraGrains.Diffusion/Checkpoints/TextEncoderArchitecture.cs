using System.Text.Json.Nodes;
using LoraGrains.Diffusion.Models;
using LoraGrains.Torch.Safetensors;

namespace LoraGrains.Diffusion.Checkpoints;

/// <summary>
/// The hyper-parameters of SD 1.x's CLIP text model (transformers <c>CLIPTextModel</c>). Everything but the
/// head count is visible in the weight shapes; the head count must come from a config (see
/// <see cref="LdmCheckpoint"/> for the order of sources).
/// </summary>
public sealed record TextEncoderArchitecture
{
    /// <summary>Width of every CLIP text tower's attention heads (ViT-B 512/8, ViT-L 768/12, ViT-H 1024/16, ViT-bigG 1280/20).</summary>
    public const int ClipHeadSize = 64;

    /// <summary>Token/hidden width (SD 1.x: 768).</summary>
    public required int HiddenSize { get; init; }

    /// <summary>Encoder layers (SD 1.x: 12).</summary>
    public required int NumLayers { get; init; }

    /// <summary>Attention heads (SD 1.x: 12).</summary>
    public required int NumHeads { get; init; }

    /// <summary>MLP width (SD 1.x: 3072).</summary>
    public required int IntermediateSize { get; init; }

    /// <summary>Token embedding rows (49408).</summary>
    public required int VocabSize { get; init; }

    /// <summary>Position embedding rows (77).</summary>
    public required int MaxPositions { get; init; }

    /// <summary>MLP activation (<c>quick_gelu</c> for OpenAI CLIP).</summary>
    public string HiddenAct { get; init; } = "quick_gelu";

    /// <summary>LayerNorm epsilon.</summary>
    public double LayerNormEps { get; init; } = 1e-05;

    /// <summary>Token ids as SD-1.5's text_encoder/config.json has them (legacy 0/2/1; not used by SD itself).</summary>
    public (int Bos, int Eos, int Pad) TokenIds { get; init; } = (0, 2, 1);

    /// <summary>SD 1.x's text encoder (CLIP ViT-L/14), used when a file has no text encoder to infer from.</summary>
    public static TextEncoderArchitecture Sd1Default { get; } = new()
    {
        HiddenSize = 768,
        NumLayers = 12,
        NumHeads = 12,
        IntermediateSize = 3072,
        VocabSize = 49408,
        MaxPositions = 77,
    };

    /// <summary>
    /// Reads the sizes visible in the shapes of the tensors under <paramref name="prefix"/> (the part of a
    /// transformers name after <c>text_model.</c>); the head count is not among them and must come from a config.
    /// </summary>
    /// <exception cref="ModelLoadException">A tensor needed to read the shapes is missing.</exception>
    public static (int Hidden, int Layers, int Intermediate, int Vocab, int Positions) InferShapes(
        IReadOnlyDictionary<string, SafetensorsEntry> entries, string prefix, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(entries);
        long[] Shape(string name) => entries.TryGetValue(prefix + name, out var e) && e.Shape.Length == 2
            ? e.Shape
            : throw new ModelLoadException($"{sourceName}: cannot infer the text encoder architecture: '{prefix}{name}' is missing or not 2-D");
        var token = Shape("embeddings.token_embedding.weight");
        var positions = Shape("embeddings.position_embedding.weight");
        var layers = UNetArchitecture.BlockIndices(entries.Keys, prefix + "encoder.layers.");
        if (layers.Count == 0 || layers.Max() + 1 != layers.Count)
            throw new ModelLoadException($"{sourceName}: cannot infer the text encoder architecture: encoder layers are not numbered 0..N-1");
        var fc1 = Shape("encoder.layers.0.mlp.fc1.weight");
        return ((int)token[1], layers.Count, (int)fc1[0], (int)token[0], (int)positions[0]);
    }

    /// <summary>A transformers <c>CLIPTextConfig</c>-like config.json content.</summary>
    public JsonObject ToTransformersConfig(string torchDtype = "float32") => new()
    {
        ["architectures"] = new JsonArray("CLIPTextModel"),
        ["attention_dropout"] = 0.0,
        ["bos_token_id"] = TokenIds.Bos,
        ["dropout"] = 0.0,
        ["eos_token_id"] = TokenIds.Eos,
        ["hidden_act"] = HiddenAct,
        ["hidden_size"] = HiddenSize,
        ["initializer_factor"] = 1.0,
        ["initializer_range"] = 0.02,
        ["intermediate_size"] = IntermediateSize,
        ["layer_norm_eps"] = LayerNormEps,
        ["max_position_embeddings"] = MaxPositions,
        ["model_type"] = "clip_text_model",
        ["num_attention_heads"] = NumHeads,
        ["num_hidden_layers"] = NumLayers,
        ["pad_token_id"] = TokenIds.Pad,
        ["projection_dim"] = HiddenSize,
        ["torch_dtype"] = torchDtype,
        ["vocab_size"] = VocabSize,
    };
}
