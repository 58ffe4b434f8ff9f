namespace LoraGrains.Diffusion.Checkpoints;

/// <summary>
/// The text encoder's name table: SD 1.x single files keep transformers' CLIPTextModel names under
/// <c>cond_stage_model.transformer.</c>, so the map only swaps the prefix (<c>text_model.</c> for
/// transformers ≥ 4.x files, nothing for older ones that saved the inner model directly).
/// </summary>
public static class TextEncoderKeyMap
{
    /// <summary>Prefix of current single files.</summary>
    public const string SourcePrefix = "cond_stage_model.transformer.text_model.";

    /// <summary>Prefix of older single files (transformers saved CLIPTextTransformer without the <c>text_model</c> level).</summary>
    public const string LegacySourcePrefix = "cond_stage_model.transformer.";

    /// <summary>Every text encoder tensor of <paramref name="architecture"/> with its name under <paramref name="sourcePrefix"/>.</summary>
    public static IReadOnlyList<KeyMapping> Create(TextEncoderArchitecture architecture, string sourcePrefix = SourcePrefix)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        var a = architecture;
        var b = new KeyMapBuilder("text_model.", sourcePrefix);
        long h = a.HiddenSize, inter = a.IntermediateSize;
        b.Tensor("embeddings.token_embedding.weight", "embeddings.token_embedding.weight", [a.VocabSize, h]);
        b.Tensor("embeddings.position_embedding.weight", "embeddings.position_embedding.weight", [a.MaxPositions, h]);
        for (var l = 0; l < a.NumLayers; l++)
        {
            var n = $"encoder.layers.{l}";
            foreach (var proj in new[] { "q_proj", "k_proj", "v_proj", "out_proj" })
                b.Linear($"{n}.self_attn.{proj}", $"{n}.self_attn.{proj}", h, h);
            b.Norm($"{n}.layer_norm1", $"{n}.layer_norm1", h);
            b.Linear($"{n}.mlp.fc1", $"{n}.mlp.fc1", inter, h);
            b.Linear($"{n}.mlp.fc2", $"{n}.mlp.fc2", h, inter);
            b.Norm($"{n}.layer_norm2", $"{n}.layer_norm2", h);
        }

        b.Norm("final_layer_norm", "final_layer_norm", h);
        return b.Rows;
    }
}
