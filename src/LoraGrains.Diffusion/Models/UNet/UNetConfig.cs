using System.Text.Json;

namespace LoraGrains.Diffusion.Models.UNet;

/// <summary>
/// The architecture of a <see cref="UNet2DConditionModel"/> as diffusers describes it in <c>unet/config.json</c>,
/// restricted to what Stable Diffusion 1.x and 2.x use. Per-block values are stored expanded (one entry per
/// down block, in down-block order), as diffusers expands them. Defaults are diffusers' defaults.
/// </summary>
public sealed record UNetConfig
{
    /// <summary>The down block with cross-attention (resnets interleaved with transformers).</summary>
    public const string CrossAttnDownBlock2D = "CrossAttnDownBlock2D";

    /// <summary>The down block made of resnets only.</summary>
    public const string DownBlock2D = "DownBlock2D";

    /// <summary>The up block with cross-attention.</summary>
    public const string CrossAttnUpBlock2D = "CrossAttnUpBlock2D";

    /// <summary>The up block made of resnets only.</summary>
    public const string UpBlock2D = "UpBlock2D";

    /// <summary>The middle block: resnet, transformer, resnet.</summary>
    public const string UNetMidBlock2DCrossAttn = "UNetMidBlock2DCrossAttn";

    private const string Source = "unet config";

    /// <summary>Native latent height and width (informational; null when absent).</summary>
    public int? SampleSize { get; init; }

    /// <summary>Latent channels in.</summary>
    public int InChannels { get; init; } = 4;

    /// <summary>Channels out (the noise prediction).</summary>
    public int OutChannels { get; init; } = 4;

    /// <summary>Map the input from [0, 1] to [−1, 1] first (false for SD).</summary>
    public bool CenterInputSample { get; init; }

    /// <summary>Sinusoidal timestep embedding puts cosines first (true for SD).</summary>
    public bool FlipSinToCos { get; init; } = true;

    /// <summary>Frequency shift of the sinusoidal embedding (diffusers' <c>freq_shift</c>, 0 for SD).</summary>
    public int FreqShift { get; init; }

    /// <summary>Down block types, <see cref="CrossAttnDownBlock2D"/> or <see cref="DownBlock2D"/>.</summary>
    public IReadOnlyList<string> DownBlockTypes { get; init; } = [CrossAttnDownBlock2D, CrossAttnDownBlock2D, CrossAttnDownBlock2D, DownBlock2D];

    /// <summary>Middle block type: <see cref="UNetMidBlock2DCrossAttn"/>, or null for none.</summary>
    public string? MidBlockType { get; init; } = UNetMidBlock2DCrossAttn;

    /// <summary>Up block types, <see cref="UpBlock2D"/> or <see cref="CrossAttnUpBlock2D"/>.</summary>
    public IReadOnlyList<string> UpBlockTypes { get; init; } = [UpBlock2D, CrossAttnUpBlock2D, CrossAttnUpBlock2D, CrossAttnUpBlock2D];

    /// <summary>Output channels of each down block.</summary>
    public IReadOnlyList<int> BlockOutChannels { get; init; } = [320, 640, 1280, 1280];

    /// <summary>Resnets per down block (up blocks have one more).</summary>
    public IReadOnlyList<int> LayersPerBlock { get; init; } = [2, 2, 2, 2];

    /// <summary>Padding of the stride-2 downsampling convolutions (1 for SD; 0 pads right/bottom by one first).</summary>
    public int DownsamplePadding { get; init; } = 1;

    /// <summary>The middle block's resnets divide their output by this.</summary>
    public double MidBlockScaleFactor { get; init; } = 1;

    /// <summary>Activation of the resnets and the output (only <c>silu</c> is supported).</summary>
    public string ActFn { get; init; } = "silu";

    /// <summary>Groups of every GroupNorm.</summary>
    public int NormNumGroups { get; init; } = 32;

    /// <summary>Epsilon of the resnet and output GroupNorms (transformers use 1e-6 regardless, as diffusers).</summary>
    public double NormEps { get; init; } = 1e-5;

    /// <summary>Width of the text embeddings each block's cross-attention attends to.</summary>
    public IReadOnlyList<int> CrossAttentionDim { get; init; } = [1280, 1280, 1280, 1280];

    /// <summary>Transformer blocks in each Transformer2DModel of a block.</summary>
    public IReadOnlyList<int> TransformerLayersPerBlock { get; init; } = [1, 1, 1, 1];

    /// <summary>
    /// Attention heads of each block. In diffusers' config this is <c>attention_head_dim</c> (a historical misnomer:
    /// SD 1.x's 8 is a head COUNT), unless <c>num_attention_heads</c> is given, which then wins.
    /// </summary>
    public IReadOnlyList<int> NumAttentionHeads { get; init; } = [8, 8, 8, 8];

    /// <summary>proj_in/proj_out are Linear layers over tokens (SD 2.x) rather than 1×1 convolutions (SD 1.x).</summary>
    public bool UseLinearProjection { get; init; }

    /// <summary>Compute attention in float32 under half precision (SD 2.1); see <see cref="UNet2DConditionModel"/>.</summary>
    public bool UpcastAttention { get; init; }

    /// <summary>Width of the time embedding; null means 4 × <c>BlockOutChannels[0]</c>.</summary>
    public int? TimeEmbeddingDim { get; init; }

    /// <summary>Kernel size of conv_in (odd).</summary>
    public int ConvInKernel { get; init; } = 3;

    /// <summary>Kernel size of conv_out (odd).</summary>
    public int ConvOutKernel { get; init; } = 3;

    /// <summary>Width of the sinusoidal timestep projection (<c>BlockOutChannels[0]</c>).</summary>
    public int TimestepProjectionDim => BlockOutChannels[0];

    /// <summary>The effective time embedding width.</summary>
    public int EffectiveTimeEmbeddingDim => TimeEmbeddingDim ?? 4 * BlockOutChannels[0];

    /// <summary>The full-size Stable Diffusion 1.5 UNet (runwayml/stable-diffusion-v1-5 <c>unet/config.json</c>).</summary>
    public static UNetConfig StableDiffusion15 { get; } = new()
    {
        SampleSize = 64,
        CrossAttentionDim = [768, 768, 768, 768],
    };

    /// <summary>Reads a diffusers <c>config.json</c> file.</summary>
    /// <exception cref="ModelLoadException">The file is missing, not JSON, or describes an unsupported architecture.</exception>
    public static UNetConfig FromFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelLoadException($"{Source}: cannot read '{path}': {e.Message}", e);
        }

        return Parse(json);
    }

    /// <summary>Parses the JSON of a diffusers UNet2DConditionModel config; unknown keys are ignored as diffusers does.</summary>
    /// <exception cref="ModelLoadException">The JSON is malformed, a field has the wrong type, or a value is unsupported.</exception>
    public static UNetConfig Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new ModelLoadException($"{Source}: invalid JSON: {e.Message}", e);
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new ModelLoadException($"{Source}: expected a JSON object");
            return Parse(root);
        }
    }

    private static UNetConfig Parse(JsonElement root)
    {
        var className = OptionalString(root, "_class_name");
        if (className is not null && className != "UNet2DConditionModel")
            throw Unsupported("_class_name", root.GetProperty("_class_name"), "UNet2DConditionModel");

        // Fields whose other values change the network in ways this implementation does not have.
        RequireAbsentOrNull(root, "class_embed_type");
        RequireAbsentOrNull(root, "num_class_embeds");
        RequireAbsentOrNull(root, "addition_embed_type");
        RequireAbsentOrNull(root, "encoder_hid_dim");
        RequireAbsentOrNull(root, "encoder_hid_dim_type");
        RequireAbsentOrNull(root, "time_embedding_act_fn");
        RequireAbsentOrNull(root, "timestep_post_act");
        RequireAbsentOrNull(root, "time_cond_proj_dim");
        RequireAbsentOrNull(root, "reverse_transformer_layers_per_block");
        RequireValue(root, "dual_cross_attention", "false");
        RequireValue(root, "resnet_skip_time_act", "false");
        RequireValue(root, "resnet_time_scale_shift", "\"default\"");
        RequireValue(root, "time_embedding_type", "\"positional\"");
        RequireValue(root, "attention_type", "\"default\"");
        if (root.TryGetProperty("only_cross_attention", out var oca) && !IsFalseOrAllFalse(oca))
            throw Unsupported("only_cross_attention", oca, "false");

        var down = StringList(root, "down_block_types") ?? new UNetConfig().DownBlockTypes;
        var blocks = down.Count;
        var blockOut = IntList(root, "block_out_channels", blocks) ?? [320, 640, 1280, 1280];
        var heads = IntOrList(root, "num_attention_heads", blocks) ?? IntOrList(root, "attention_head_dim", blocks) ?? Repeat(8, blocks);

        string? midBlockType = UNetMidBlock2DCrossAttn;
        if (root.TryGetProperty("mid_block_type", out var mid))
        {
            midBlockType = mid.ValueKind switch
            {
                JsonValueKind.Null => null,
                JsonValueKind.String => mid.GetString(),
                _ => throw WrongType("mid_block_type", mid, "a string or null"),
            };
        }

        var normGroups = root.TryGetProperty("norm_num_groups", out var ng) && ng.ValueKind == JsonValueKind.Null
            ? throw Unsupported("norm_num_groups", ng, "an integer")
            : OptionalInt(root, "norm_num_groups") ?? 32;

        var sampleSize = root.TryGetProperty("sample_size", out var ss) && ss.ValueKind == JsonValueKind.Number && ss.TryGetInt32(out var s)
            ? s
            : (int?)null;

        return new UNetConfig
        {
            SampleSize = sampleSize,
            InChannels = OptionalInt(root, "in_channels") ?? 4,
            OutChannels = OptionalInt(root, "out_channels") ?? 4,
            CenterInputSample = OptionalBool(root, "center_input_sample") ?? false,
            FlipSinToCos = OptionalBool(root, "flip_sin_to_cos") ?? true,
            FreqShift = OptionalInt(root, "freq_shift") ?? 0,
            DownBlockTypes = down,
            MidBlockType = midBlockType,
            UpBlockTypes = StringList(root, "up_block_types") ?? new UNetConfig().UpBlockTypes,
            BlockOutChannels = blockOut,
            LayersPerBlock = IntOrList(root, "layers_per_block", blocks) ?? Repeat(2, blocks),
            DownsamplePadding = OptionalInt(root, "downsample_padding") ?? 1,
            MidBlockScaleFactor = OptionalDouble(root, "mid_block_scale_factor") ?? 1,
            ActFn = OptionalString(root, "act_fn") ?? "silu",
            NormNumGroups = normGroups,
            NormEps = OptionalDouble(root, "norm_eps") ?? 1e-5,
            CrossAttentionDim = IntOrList(root, "cross_attention_dim", blocks) ?? Repeat(1280, blocks),
            TransformerLayersPerBlock = IntOrList(root, "transformer_layers_per_block", blocks) ?? Repeat(1, blocks),
            NumAttentionHeads = heads,
            UseLinearProjection = OptionalBool(root, "use_linear_projection") ?? false,
            UpcastAttention = OptionalBool(root, "upcast_attention") ?? false,
            TimeEmbeddingDim = OptionalInt(root, "time_embedding_dim"),
            ConvInKernel = OptionalInt(root, "conv_in_kernel") ?? 3,
            ConvOutKernel = OptionalInt(root, "conv_out_kernel") ?? 3,
        }.Validated();
    }

    /// <summary>Checks that this configuration describes a network this implementation can build.</summary>
    /// <exception cref="ModelLoadException">A value is unsupported or inconsistent; the message names the field.</exception>
    public void Validate()
    {
        var blocks = DownBlockTypes.Count;
        if (blocks == 0) throw new ModelLoadException($"{Source}: down_block_types is empty");
        foreach (var t in DownBlockTypes)
        {
            if (t is not (CrossAttnDownBlock2D or DownBlock2D))
                throw new ModelLoadException($"{Source}: unsupported down_block_types entry '{t}' (supported: {CrossAttnDownBlock2D}, {DownBlock2D})");
        }

        foreach (var t in UpBlockTypes)
        {
            if (t is not (UpBlock2D or CrossAttnUpBlock2D))
                throw new ModelLoadException($"{Source}: unsupported up_block_types entry '{t}' (supported: {UpBlock2D}, {CrossAttnUpBlock2D})");
        }

        if (MidBlockType is not (null or UNetMidBlock2DCrossAttn))
            throw new ModelLoadException($"{Source}: unsupported mid_block_type '{MidBlockType}' (supported: {UNetMidBlock2DCrossAttn} or null)");
        if (ActFn is not ("silu" or "swish"))
            throw new ModelLoadException($"{Source}: unsupported act_fn '{ActFn}' (supported: silu)");

        CheckCount("up_block_types", UpBlockTypes.Count, blocks);
        CheckCount("block_out_channels", BlockOutChannels.Count, blocks);
        CheckCount("layers_per_block", LayersPerBlock.Count, blocks);
        CheckCount("cross_attention_dim", CrossAttentionDim.Count, blocks);
        CheckCount("transformer_layers_per_block", TransformerLayersPerBlock.Count, blocks);
        CheckCount("num_attention_heads (attention_head_dim)", NumAttentionHeads.Count, blocks);
        CheckPositive("block_out_channels", BlockOutChannels);
        CheckPositive("layers_per_block", LayersPerBlock);
        CheckPositive("cross_attention_dim", CrossAttentionDim);
        CheckPositive("transformer_layers_per_block", TransformerLayersPerBlock);
        CheckPositive("num_attention_heads (attention_head_dim)", NumAttentionHeads);
        for (var i = 0; i < blocks; i++)
        {
            if (BlockOutChannels[i] < NumAttentionHeads[i])
            {
                throw new ModelLoadException(
                    $"{Source}: block {i} has {BlockOutChannels[i]} channels, fewer than its {NumAttentionHeads[i]} attention heads");
            }
        }

        CheckPositive("in_channels", [InChannels]);
        CheckPositive("out_channels", [OutChannels]);
        CheckPositive("norm_num_groups", [NormNumGroups]);
        if (TimeEmbeddingDim is { } ted) CheckPositive("time_embedding_dim", [ted]);
        if (ConvInKernel <= 0 || ConvInKernel % 2 == 0)
            throw new ModelLoadException($"{Source}: unsupported conv_in_kernel {ConvInKernel} (must be odd)");
        if (ConvOutKernel <= 0 || ConvOutKernel % 2 == 0)
            throw new ModelLoadException($"{Source}: unsupported conv_out_kernel {ConvOutKernel} (must be odd)");
        if (DownsamplePadding is not (0 or 1))
            throw new ModelLoadException($"{Source}: unsupported downsample_padding {DownsamplePadding} (supported: 0, 1)");
        if (!(NormEps > 0)) throw new ModelLoadException($"{Source}: norm_eps must be positive, got {NormEps}");
        if (!(MidBlockScaleFactor > 0)) throw new ModelLoadException($"{Source}: mid_block_scale_factor must be positive, got {MidBlockScaleFactor}");
        if (TimestepProjectionDim / 2 == FreqShift)
            throw new ModelLoadException($"{Source}: freq_shift {FreqShift} equals half the timestep projection width");
    }

    private UNetConfig Validated()
    {
        Validate();
        return this;
    }

    private static void CheckCount(string field, int count, int blocks)
    {
        if (count != blocks)
            throw new ModelLoadException($"{Source}: {field} has {count} entries but there are {blocks} down blocks");
    }

    private static void CheckPositive(string field, IReadOnlyList<int> values)
    {
        foreach (var v in values)
        {
            if (v <= 0) throw new ModelLoadException($"{Source}: {field} must be positive, got {v}");
        }
    }

    private static int[] Repeat(int value, int count) => Enumerable.Repeat(value, count).ToArray();

    private static ModelLoadException Unsupported(string field, JsonElement value, string supported) =>
        new($"{Source}: unsupported {field} = {value.GetRawText()} (supported: {supported})");

    private static ModelLoadException WrongType(string field, JsonElement value, string expected) =>
        new($"{Source}: {field} = {value.GetRawText()} is not {expected}");

    private static void RequireAbsentOrNull(JsonElement root, string field)
    {
        if (root.TryGetProperty(field, out var v) && v.ValueKind != JsonValueKind.Null) throw Unsupported(field, v, "null");
    }

    private static void RequireValue(JsonElement root, string field, string rawJson)
    {
        if (root.TryGetProperty(field, out var v) && v.GetRawText() != rawJson) throw Unsupported(field, v, rawJson);
    }

    private static bool IsFalseOrAllFalse(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.False => true,
        JsonValueKind.Array => v.EnumerateArray().All(e => e.ValueKind == JsonValueKind.False),
        _ => false,
    };

    private static bool TryGetNonNull(JsonElement root, string field, out JsonElement value) =>
        root.TryGetProperty(field, out value) && value.ValueKind != JsonValueKind.Null;

    private static int ToInt(string field, JsonElement v) =>
        v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : throw WrongType(field, v, "an integer");

    private static int? OptionalInt(JsonElement root, string field) => TryGetNonNull(root, field, out var v) ? ToInt(field, v) : null;

    private static double? OptionalDouble(JsonElement root, string field) =>
        !TryGetNonNull(root, field, out var v) ? null
        : v.ValueKind == JsonValueKind.Number ? v.GetDouble()
        : throw WrongType(field, v, "a number");

    private static bool? OptionalBool(JsonElement root, string field) =>
        !TryGetNonNull(root, field, out var v) ? null
        : v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean()
        : throw WrongType(field, v, "true or false");

    private static string? OptionalString(JsonElement root, string field) =>
        !TryGetNonNull(root, field, out var v) ? null
        : v.ValueKind == JsonValueKind.String ? v.GetString()
        : throw WrongType(field, v, "a string");

    private static string[]? StringList(JsonElement root, string field)
    {
        if (!TryGetNonNull(root, field, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Array) throw WrongType(field, v, "a list of strings");
        return v.EnumerateArray()
            .Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : throw WrongType(field, v, "a list of strings"))
            .ToArray();
    }

    private static int[]? IntList(JsonElement root, string field, int blocks)
    {
        if (!TryGetNonNull(root, field, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Array) throw WrongType(field, v, "a list of integers");
        var list = v.EnumerateArray().Select(e => ToInt(field, e)).ToArray();
        CheckCount(field, list.Length, blocks);
        return list;
    }

    /// <summary>An int applies to every block (diffusers expands it); a list gives one value per block.</summary>
    private static int[]? IntOrList(JsonElement root, string field, int blocks)
    {
        if (!TryGetNonNull(root, field, out var v)) return null;
        if (v.ValueKind == JsonValueKind.Number) return Repeat(ToInt(field, v), blocks);
        if (v.ValueKind == JsonValueKind.Array && v.EnumerateArray().Any(e => e.ValueKind == JsonValueKind.Array))
            throw Unsupported(field, v, "an integer or a flat list of integers");
        return IntList(root, field, blocks);
    }
}
