using System.Text.Json.Nodes;
using LoraGrains.Diffusion.Models;
using LoraGrains.Torch.Safetensors;

namespace LoraGrains.Diffusion.Checkpoints;

/// <summary>
/// The shape-determining hyper-parameters of an SD 1.x-family UNet in LDM terms (openaimodel.UNetModel),
/// read from an LDM yaml or inferred from a checkpoint's tensor shapes, and convertible to the diffusers
/// <c>UNet2DConditionModel</c> config.
/// </summary>
public sealed record UNetArchitecture
{
    /// <summary>Prefix of the UNet tensors in an LDM single file.</summary>
    public const string SourcePrefix = "model.diffusion_model.";

    /// <summary>Heads per attention block of every SD 1.x config (v1-inference.yaml: <c>num_heads: 8</c>).</summary>
    public const int Sd1NumHeads = 8;

    /// <summary>Latent channels in (4; 9 for inpainting models).</summary>
    public required int InChannels { get; init; }

    /// <summary>Channels out (4).</summary>
    public required int OutChannels { get; init; }

    /// <summary>LDM <c>model_channels</c> (SD 1.5: 320).</summary>
    public required int ModelChannels { get; init; }

    /// <summary>LDM <c>channel_mult</c>, one per level (SD 1.5: 1, 2, 4, 4).</summary>
    public required IReadOnlyList<int> ChannelMult { get; init; }

    /// <summary>LDM <c>num_res_blocks</c> = diffusers <c>layers_per_block</c>.</summary>
    public required int LayersPerBlock { get; init; }

    /// <summary>Which levels have cross-attention transformers (from <c>attention_resolutions</c>).</summary>
    public required IReadOnlyList<bool> AttentionLevels { get; init; }

    /// <summary>Transformer blocks per attention (LDM <c>transformer_depth</c>).</summary>
    public required int TransformerDepth { get; init; }

    /// <summary>Width of the text embeddings cross-attention reads (<c>context_dim</c>).</summary>
    public required int ContextDim { get; init; }

    /// <summary>Heads per attention when fixed (<c>num_heads</c>), else null.</summary>
    public int? NumHeads { get; init; }

    /// <summary>Channels per head when the head count scales with width (<c>num_head_channels</c>), else null.</summary>
    public int? HeadChannels { get; init; }

    /// <summary>Linear (not 1×1 conv) proj_in/proj_out (<c>use_linear_in_transformer</c>).</summary>
    public required bool UseLinearProjection { get; init; }

    /// <summary>Default latent size (diffusers <c>sample_size</c>); not an architecture property, 64 for SD 1.5.</summary>
    public int SampleSize { get; init; } = 64;

    /// <summary>Output channels of each level (diffusers <c>block_out_channels</c>).</summary>
    public IReadOnlyList<int> BlockOutChannels => ChannelMult.Select(m => m * ModelChannels).ToArray();

    /// <summary>Width of the timestep embedding (4 × model_channels).</summary>
    public int TimeEmbedDim => 4 * ModelChannels;

    /// <summary>Number of attention heads at each level.</summary>
    public IReadOnlyList<int> HeadsPerLevel =>
        BlockOutChannels.Select(c => NumHeads ?? c / (HeadChannels ?? throw new InvalidOperationException("neither NumHeads nor HeadChannels"))).ToArray();

    /// <summary>Reads <c>model.params.unet_config.params</c> of an LDM yaml.</summary>
    internal static UNetArchitecture FromLdmConfig(ConfigSection p, int sampleSize)
    {
        if (p.Has("num_classes") || p.Has("adm_in_channels"))
            throw p.Error("num_classes", "is set: class/ADM-conditioned UNets (SDXL, upscalers) are not SD 1.x and cannot be represented");
        if (!p.Bool("use_spatial_transformer", false))
            throw p.Error("use_spatial_transformer", "must be true: a UNet without cross-attention transformers is not a text-to-image SD model");
        if (p.Map["disable_self_attentions"] is JsonArray d && d.Any(x => x?.GetValueKind() == System.Text.Json.JsonValueKind.True))
            throw p.Error("disable_self_attentions", "is not supported");

        var mult = p.IntList("channel_mult");
        var attentionResolutions = p.IntList("attention_resolutions");
        var attention = new bool[mult.Length];
        for (var i = 0; i < mult.Length; i++) attention[i] = attentionResolutions.Contains(1 << i);

        var contextDim = p.IntOrUniformList("context_dim", -1);
        if (contextDim <= 0) throw p.Error("context_dim", "is missing: the UNet has no cross-attention");
        int? numHeads = p.Int("num_heads", -1) is var h and > 0 ? h : null;
        int? headChannels = p.Int("num_head_channels", -1) is var hc and > 0 ? hc : null;
        if (numHeads is null && headChannels is null) throw p.Error("num_heads", "and num_head_channels are both unset");

        var a = new UNetArchitecture
        {
            InChannels = p.Int("in_channels"),
            OutChannels = p.Int("out_channels"),
            ModelChannels = p.Int("model_channels"),
            ChannelMult = mult,
            LayersPerBlock = p.IntOrUniformList("num_res_blocks", 2),
            AttentionLevels = attention,
            TransformerDepth = p.IntOrUniformList("transformer_depth", 1),
            ContextDim = contextDim,
            NumHeads = numHeads,
            HeadChannels = numHeads is null ? headChannels : null,
            UseLinearProjection = p.Bool("use_linear_in_transformer", false),
            SampleSize = sampleSize,
        };
        a.Validate(p.Path);
        return a;
    }

    /// <summary>
    /// Infers the architecture from the tensor shapes under <see cref="SourcePrefix"/>: model_channels from
    /// <c>time_embed.0</c>, levels and blocks per level from where the <c>op</c> downsamplers sit, widths from
    /// each level's first resnet, attention levels from which blocks hold a transformer. The head count is not
    /// visible in shapes; every SD 1.x config uses 8 heads, so that is assumed (and reported by the caller).
    /// </summary>
    /// <exception cref="ModelLoadException">The tensors do not form an SD 1.x-style UNet.</exception>
    public static UNetArchitecture Infer(IReadOnlyDictionary<string, SafetensorsEntry> entries, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(entries);
        long[] Shape(string name) => entries.TryGetValue(SourcePrefix + name, out var e)
            ? e.Shape
            : throw new ModelLoadException($"{sourceName}: cannot infer the UNet architecture: '{SourcePrefix}{name}' is missing");
        bool Has(string name) => entries.ContainsKey(SourcePrefix + name);

        var convIn = Shape("input_blocks.0.0.weight");
        var timeEmbed = Shape("time_embed.0.weight");
        if (convIn.Length != 4 || timeEmbed.Length != 2 || timeEmbed[1] != convIn[0] || timeEmbed[0] != 4 * convIn[0])
        {
            throw new ModelLoadException(
                $"{sourceName}: cannot infer the UNet architecture: input_blocks.0.0.weight [{string.Join(", ", convIn)}] and time_embed.0.weight [{string.Join(", ", timeEmbed)}] do not fit an SD 1.x UNet");
        }

        var modelChannels = (int)convIn[0];
        var inputBlocks = BlockIndices(entries.Keys, SourcePrefix + "input_blocks.");
        var downsamplers = inputBlocks.Where(k => Has($"input_blocks.{k}.0.op.weight")).Order().ToArray();
        var count = inputBlocks.Count == 0 ? 0 : inputBlocks.Max() + 1;
        var levels = downsamplers.Length + 1;
        var perLevel = downsamplers.Length == 0 ? count - 1 : downsamplers[0] - 1;
        if (perLevel < 1 || count != 1 + levels * perLevel + (levels - 1)
            || downsamplers.Select((k, i) => k != (i + 1) * (perLevel + 1)).Any(bad => bad))
        {
            throw new ModelLoadException(
                $"{sourceName}: cannot infer the UNet architecture: {count} input blocks with downsamplers at [{string.Join(", ", downsamplers)}] do not form equal levels");
        }

        var mult = new int[levels];
        var attention = new bool[levels];
        int? depth = null, context = null;
        bool? linear = null;
        var attentionBlocks = new List<string>();
        for (var i = 0; i < levels; i++)
        {
            var k = 1 + i * (perLevel + 1);
            var width = Shape($"input_blocks.{k}.0.out_layers.3.weight")[0];
            if (width % modelChannels != 0)
                throw new ModelLoadException($"{sourceName}: cannot infer the UNet architecture: level {i} has {width} channels, not a multiple of model_channels {modelChannels}");
            mult[i] = (int)(width / modelChannels);
            attention[i] = Has($"input_blocks.{k}.1.proj_in.weight");
            if (attention[i]) attentionBlocks.Add($"input_blocks.{k}.1");
        }

        attentionBlocks.Add("middle_block.1");
        foreach (var block in attentionBlocks)
        {
            var d = BlockIndices(entries.Keys, $"{SourcePrefix}{block}.transformer_blocks.").Count;
            var ctx = (int)Shape($"{block}.transformer_blocks.0.attn2.to_k.weight")[1];
            var lin = Shape($"{block}.proj_in.weight").Length == 2;
            if ((depth ?? d) != d || (context ?? ctx) != ctx || (linear ?? lin) != lin)
                throw new ModelLoadException($"{sourceName}: cannot infer the UNet architecture: the attention blocks differ in depth, context width or projection kind");
            depth = d;
            context = ctx;
            linear = lin;
        }

        var a = new UNetArchitecture
        {
            InChannels = (int)convIn[1],
            OutChannels = (int)Shape("out.2.weight")[0],
            ModelChannels = modelChannels,
            ChannelMult = mult,
            LayersPerBlock = perLevel,
            AttentionLevels = attention,
            TransformerDepth = depth!.Value,
            ContextDim = context!.Value,
            NumHeads = Sd1NumHeads,
            UseLinearProjection = linear!.Value,
        };
        a.Validate(sourceName);
        return a;
    }

    /// <summary>Distinct integer indices <c>N</c> of names starting with <paramref name="prefix"/><c>N.</c>.</summary>
    internal static HashSet<int> BlockIndices(IEnumerable<string> names, string prefix)
    {
        var result = new HashSet<int>();
        foreach (var name in names)
        {
            if (!name.StartsWith(prefix, StringComparison.Ordinal)) continue;
            var dot = name.IndexOf('.', prefix.Length);
            if (dot > prefix.Length && int.TryParse(name.AsSpan(prefix.Length, dot - prefix.Length), out var n) && n >= 0) result.Add(n);
        }

        return result;
    }

    private void Validate(string source)
    {
        string? problem = null;
        if (ChannelMult.Count == 0) problem = "has no levels";
        else if (ChannelMult[0] != 1) problem = $"channel_mult starts with {ChannelMult[0]}: diffusers' UNet requires the first level to keep model_channels";
        else if (ChannelMult.Any(m => m <= 0) || ModelChannels <= 0 || LayersPerBlock <= 0 || TransformerDepth <= 0) problem = "has non-positive sizes";
        else if (BlockOutChannels.Any(c => c % 32 != 0)) problem = $"block widths [{string.Join(", ", BlockOutChannels)}] are not multiples of the 32 GroupNorm groups";
        else if (NumHeads is { } h && BlockOutChannels.Any(c => c % h != 0)) problem = $"block widths [{string.Join(", ", BlockOutChannels)}] do not split into {h} heads";
        else if (HeadChannels is { } hc && BlockOutChannels.Any(c => c % hc != 0)) problem = $"block widths [{string.Join(", ", BlockOutChannels)}] do not split into heads of {hc} channels";
        if (problem is not null) throw new ModelLoadException($"{source}: UNet {problem}");
    }

    /// <summary>
    /// The diffusers <c>UNet2DConditionModel</c> config.json content, with the same fields and values
    /// diffusers' <c>create_unet_diffusers_config</c> plus the class defaults give (diffusers 0.26).
    /// </summary>
    public JsonObject ToDiffusersConfig()
    {
        var levels = ChannelMult.Count;
        var down = new JsonArray();
        var up = new JsonArray();
        for (var i = 0; i < levels; i++) down.Add(AttentionLevels[i] ? "CrossAttnDownBlock2D" : "DownBlock2D");
        for (var i = levels - 1; i >= 0; i--) up.Add(AttentionLevels[i] ? "CrossAttnUpBlock2D" : "UpBlock2D");
        JsonNode headDim = NumHeads is { } h ? JsonValue.Create(h) : new JsonArray(HeadsPerLevel.Select(x => (JsonNode)JsonValue.Create(x)).ToArray());

        return new JsonObject
        {
            ["_class_name"] = "UNet2DConditionModel",
            ["act_fn"] = "silu",
            ["addition_embed_type"] = null,
            ["addition_embed_type_num_heads"] = 64,
            ["addition_time_embed_dim"] = null,
            ["attention_head_dim"] = headDim,
            ["attention_type"] = "default",
            ["block_out_channels"] = IntArray(BlockOutChannels),
            ["center_input_sample"] = false,
            ["class_embed_type"] = null,
            ["class_embeddings_concat"] = false,
            ["conv_in_kernel"] = 3,
            ["conv_out_kernel"] = 3,
            ["cross_attention_dim"] = ContextDim,
            ["cross_attention_norm"] = null,
            ["down_block_types"] = down,
            ["downsample_padding"] = 1,
            ["dropout"] = 0.0,
            ["dual_cross_attention"] = false,
            ["encoder_hid_dim"] = null,
            ["encoder_hid_dim_type"] = null,
            ["flip_sin_to_cos"] = true,
            ["freq_shift"] = 0,
            ["in_channels"] = InChannels,
            ["layers_per_block"] = LayersPerBlock,
            ["mid_block_only_cross_attention"] = null,
            ["mid_block_scale_factor"] = 1,
            ["mid_block_type"] = "UNetMidBlock2DCrossAttn",
            ["norm_eps"] = 1e-05,
            ["norm_num_groups"] = 32,
            ["num_attention_heads"] = null,
            ["num_class_embeds"] = null,
            ["only_cross_attention"] = false,
            ["out_channels"] = OutChannels,
            ["projection_class_embeddings_input_dim"] = null,
            ["resnet_out_scale_factor"] = 1.0,
            ["resnet_skip_time_act"] = false,
            ["resnet_time_scale_shift"] = "default",
            ["reverse_transformer_layers_per_block"] = null,
            ["sample_size"] = SampleSize,
            ["time_cond_proj_dim"] = null,
            ["time_embedding_act_fn"] = null,
            ["time_embedding_dim"] = null,
            ["time_embedding_type"] = "positional",
            ["timestep_post_act"] = null,
            ["transformer_layers_per_block"] = TransformerDepth,
            ["up_block_types"] = up,
            ["upcast_attention"] = false,
            ["use_linear_projection"] = UseLinearProjection,
        };
    }

    internal static JsonArray IntArray(IEnumerable<int> values) => new(values.Select(v => (JsonNode)JsonValue.Create(v)).ToArray());
}
