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

    private const string DefaultSource = "unet config";

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

    /// <summary>Reads a diffusers <c>unet/config.json</c>.</summary>
    /// <exception cref="ModelLoadException">The file is missing, not JSON, or describes an unsupported architecture.</exception>
    public static UNetConfig FromFile(string path) => From(ConfigReader.Load(path));

    /// <summary>Parses the JSON of a diffusers UNet2DConditionModel config; unknown keys are ignored as diffusers does.</summary>
    /// <param name="json">The config text.</param>
    /// <param name="source">Names the config in messages.</param>
    /// <exception cref="ModelLoadException">The JSON is malformed, a field has the wrong type, or a value is unsupported.</exception>
    public static UNetConfig Parse(string json, string source = DefaultSource) => From(ConfigReader.Parse(json, source));

    private static UNetConfig From(ConfigReader r)
    {
        var className = r.OptionalString("_class_name");
        if (className is not null && className != "UNet2DConditionModel") throw r.Unsupported("_class_name", "UNet2DConditionModel");

        // Fields whose other values change the network in ways this implementation does not have.
        r.RequireAbsentOrNull("class_embed_type");
        r.RequireAbsentOrNull("num_class_embeds");
        r.RequireAbsentOrNull("addition_embed_type");
        r.RequireAbsentOrNull("encoder_hid_dim");
        r.RequireAbsentOrNull("encoder_hid_dim_type");
        r.RequireAbsentOrNull("time_embedding_act_fn");
        r.RequireAbsentOrNull("timestep_post_act");
        r.RequireAbsentOrNull("time_cond_proj_dim");
        r.RequireAbsentOrNull("reverse_transformer_layers_per_block");
        r.RequireAbsentOr("dual_cross_attention", "false");
        r.RequireAbsentOr("resnet_skip_time_act", "false");
        r.RequireAbsentOr("resnet_time_scale_shift", "\"default\"");
        r.RequireAbsentOr("time_embedding_type", "\"positional\"");
        r.RequireAbsentOr("attention_type", "\"default\"");
        r.RequireAbsentOrFalse("only_cross_attention");
        // diffusers' null norm_num_groups means "no GroupNorm", not the default.
        if (r.IsNull("norm_num_groups")) throw r.Unsupported("norm_num_groups", "an integer");

        var defaults = new UNetConfig();
        var down = r.StringArray("down_block_types", [.. defaults.DownBlockTypes]);
        var blocks = down.Length;
        return new UNetConfig
        {
            SampleSize = r.LenientInt("sample_size"),
            InChannels = r.Int("in_channels", 4),
            OutChannels = r.Int("out_channels", 4),
            CenterInputSample = r.Bool("center_input_sample", false),
            FlipSinToCos = r.Bool("flip_sin_to_cos", true),
            FreqShift = r.Int("freq_shift", 0),
            DownBlockTypes = down,
            // An explicit null means no mid block; absent means the default one.
            MidBlockType = r.IsNull("mid_block_type") ? null : r.String("mid_block_type", UNetMidBlock2DCrossAttn),
            UpBlockTypes = r.StringArray("up_block_types", [.. defaults.UpBlockTypes]),
            BlockOutChannels = r.IntArray("block_out_channels", [.. defaults.BlockOutChannels]),
            LayersPerBlock = r.IntOrArray("layers_per_block", blocks) ?? Repeat(2, blocks),
            DownsamplePadding = r.Int("downsample_padding", 1),
            MidBlockScaleFactor = r.Double("mid_block_scale_factor", 1),
            ActFn = r.String("act_fn", "silu"),
            NormNumGroups = r.Int("norm_num_groups", 32),
            NormEps = r.Double("norm_eps", 1e-5),
            CrossAttentionDim = r.IntOrArray("cross_attention_dim", blocks) ?? Repeat(1280, blocks),
            TransformerLayersPerBlock = r.IntOrArray("transformer_layers_per_block", blocks) ?? Repeat(1, blocks),
            // attention_head_dim is a head count in SD configs (a historical misnomer); num_attention_heads wins.
            NumAttentionHeads = r.IntOrArray("num_attention_heads", blocks) ?? r.IntOrArray("attention_head_dim", blocks) ?? Repeat(8, blocks),
            UseLinearProjection = r.Bool("use_linear_projection", false),
            UpcastAttention = r.Bool("upcast_attention", false),
            TimeEmbeddingDim = r.OptionalInt("time_embedding_dim"),
            ConvInKernel = r.Int("conv_in_kernel", 3),
            ConvOutKernel = r.Int("conv_out_kernel", 3),
        }.Validated(r.Source);
    }

    /// <summary>Checks that this configuration describes a network this implementation can build.</summary>
    /// <param name="source">Names the config in messages.</param>
    /// <exception cref="ModelLoadException">A value is unsupported or inconsistent; the message names the field.</exception>
    public void Validate(string source = DefaultSource)
    {
        ModelLoadException Bad(string problem) => new($"{source}: {problem}");

        void CheckCount(string field, int count, int blocks)
        {
            if (count != blocks) throw Bad($"{field} has {count} entries but there are {blocks} down blocks");
        }

        void CheckPositive(string field, IReadOnlyList<int> values)
        {
            foreach (var v in values)
            {
                if (v <= 0) throw Bad($"{field} must be positive, got {v}");
            }
        }

        var blocks = DownBlockTypes.Count;
        if (blocks == 0) throw Bad("down_block_types is empty");
        foreach (var t in DownBlockTypes)
        {
            if (t is not (CrossAttnDownBlock2D or DownBlock2D))
                throw Bad($"unsupported down_block_types entry '{t}' (supported: {CrossAttnDownBlock2D}, {DownBlock2D})");
        }

        foreach (var t in UpBlockTypes)
        {
            if (t is not (UpBlock2D or CrossAttnUpBlock2D))
                throw Bad($"unsupported up_block_types entry '{t}' (supported: {UpBlock2D}, {CrossAttnUpBlock2D})");
        }

        if (MidBlockType is not (null or UNetMidBlock2DCrossAttn))
            throw Bad($"unsupported mid_block_type '{MidBlockType}' (supported: {UNetMidBlock2DCrossAttn} or null)");
        if (ActFn is not ("silu" or "swish")) throw Bad($"unsupported act_fn '{ActFn}' (supported: silu)");

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
                throw Bad($"block {i} has {BlockOutChannels[i]} channels, fewer than its {NumAttentionHeads[i]} attention heads");
        }

        CheckPositive("in_channels", [InChannels]);
        CheckPositive("out_channels", [OutChannels]);
        CheckPositive("norm_num_groups", [NormNumGroups]);
        if (TimeEmbeddingDim is { } ted) CheckPositive("time_embedding_dim", [ted]);
        if (ConvInKernel <= 0 || ConvInKernel % 2 == 0) throw Bad($"unsupported conv_in_kernel {ConvInKernel} (must be odd)");
        if (ConvOutKernel <= 0 || ConvOutKernel % 2 == 0) throw Bad($"unsupported conv_out_kernel {ConvOutKernel} (must be odd)");
        if (DownsamplePadding is not (0 or 1)) throw Bad($"unsupported downsample_padding {DownsamplePadding} (supported: 0, 1)");
        if (!(NormEps > 0)) throw Bad($"norm_eps must be positive, got {NormEps}");
        if (!(MidBlockScaleFactor > 0)) throw Bad($"mid_block_scale_factor must be positive, got {MidBlockScaleFactor}");
        if (TimestepProjectionDim / 2 == FreqShift)
            throw Bad($"freq_shift {FreqShift} equals half the timestep projection width");
    }

    private UNetConfig Validated(string source)
    {
        Validate(source);
        return this;
    }

    private static int[] Repeat(int value, int count) => Enumerable.Repeat(value, count).ToArray();
}
