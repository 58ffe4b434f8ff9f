namespace LoraGrains.Diffusion.Models.Vae;

/// <summary>
/// The architecture of a diffusers <c>AutoencoderKL</c> (its <c>vae/config.json</c>). Defaults are diffusers'
/// constructor defaults for keys the file leaves out. Only the SD-style encoder/decoder blocks are supported.
/// </summary>
public sealed record VaeConfig
{
    /// <summary>The only down block type supported.</summary>
    public const string DownEncoderBlock = "DownEncoderBlock2D";

    /// <summary>The only up block type supported.</summary>
    public const string UpDecoderBlock = "UpDecoderBlock2D";

    /// <summary>Image channels in (<c>in_channels</c>).</summary>
    public int InChannels { get; init; } = 3;

    /// <summary>Image channels out (<c>out_channels</c>).</summary>
    public int OutChannels { get; init; } = 3;

    /// <summary>Latent channels (<c>latent_channels</c>).</summary>
    public int LatentChannels { get; init; } = 4;

    /// <summary>Channels per resolution level, encoder order (<c>block_out_channels</c>).</summary>
    public IReadOnlyList<int> BlockOutChannels { get; init; } = [64];

    /// <summary>Encoder block types (<c>down_block_types</c>), one per level.</summary>
    public IReadOnlyList<string> DownBlockTypes { get; init; } = [DownEncoderBlock];

    /// <summary>Decoder block types (<c>up_block_types</c>), one per level.</summary>
    public IReadOnlyList<string> UpBlockTypes { get; init; } = [UpDecoderBlock];

    /// <summary>Resnets per encoder block; decoder blocks have one more (<c>layers_per_block</c>).</summary>
    public int LayersPerBlock { get; init; } = 1;

    /// <summary>GroupNorm groups (<c>norm_num_groups</c>).</summary>
    public int NormNumGroups { get; init; } = 32;

    /// <summary>Activation (<c>act_fn</c>); only "silu" is supported.</summary>
    public string ActFn { get; init; } = "silu";

    /// <summary>Latent scale the pipeline multiplies encoder samples by and divides by before decoding (<c>scaling_factor</c>).</summary>
    public double ScalingFactor { get; init; } = 0.18215;

    /// <summary>Whether the mid blocks have their attention (<c>mid_block_add_attention</c>).</summary>
    public bool MidBlockAddAttention { get; init; } = true;

    /// <summary>Whether the model has <c>quant_conv</c> (<c>use_quant_conv</c>).</summary>
    public bool UseQuantConv { get; init; } = true;

    /// <summary>Whether the model has <c>post_quant_conv</c> (<c>use_post_quant_conv</c>).</summary>
    public bool UsePostQuantConv { get; init; } = true;

    /// <summary>GroupNorm epsilon everywhere in the encoder and decoder (fixed at 1e-6 by diffusers, not in the config).</summary>
    public double NormEps { get; init; } = 1e-6;

    /// <summary>Spatial factor between image and latents: 2^(levels − 1).</summary>
    public int DownsampleFactor => 1 << (BlockOutChannels.Count - 1);

    /// <summary>Reads a diffusers <c>vae/config.json</c>.</summary>
    /// <exception cref="ModelLoadException">The file cannot be read, is not a config, or describes an unsupported architecture.</exception>
    public static VaeConfig FromFile(string path) => From(ConfigReader.Load(path));

    /// <summary>Parses the JSON text of a diffusers AutoencoderKL config; <paramref name="source"/> names it in messages.</summary>
    /// <exception cref="ModelLoadException">Invalid JSON or an unsupported architecture.</exception>
    public static VaeConfig FromJson(string json, string source = "vae/config.json") => From(ConfigReader.Parse(json, source));

    private static VaeConfig From(ConfigReader r)
    {
        var config = new VaeConfig
        {
            InChannels = r.Int("in_channels", 3),
            OutChannels = r.Int("out_channels", 3),
            LatentChannels = r.Int("latent_channels", 4),
            BlockOutChannels = r.IntArray("block_out_channels", [64]),
            DownBlockTypes = r.StringArray("down_block_types", [DownEncoderBlock]),
            UpBlockTypes = r.StringArray("up_block_types", [UpDecoderBlock]),
            LayersPerBlock = r.Int("layers_per_block", 1),
            NormNumGroups = r.Int("norm_num_groups", 32),
            ActFn = r.String("act_fn", "silu"),
            ScalingFactor = r.Double("scaling_factor", 0.18215),
            MidBlockAddAttention = r.Bool("mid_block_add_attention", true),
            UseQuantConv = r.Bool("use_quant_conv", true),
            UsePostQuantConv = r.Bool("use_post_quant_conv", true),
        };
        config.Validate(r.Source);
        return config;
    }

    /// <summary>Checks that this describes an architecture <see cref="AutoencoderKL"/> implements.</summary>
    /// <param name="source">Names the config in messages.</param>
    /// <exception cref="ModelLoadException">The first problem found.</exception>
    public void Validate(string source = "vae config")
    {
        ModelLoadException Bad(string problem) => new($"{source}: {problem}");

        if (BlockOutChannels is null || BlockOutChannels.Count == 0) throw Bad("'block_out_channels' is empty");
        if (DownBlockTypes is null || UpBlockTypes is null) throw Bad("block types are missing");
        if (InChannels <= 0 || OutChannels <= 0 || LatentChannels <= 0)
            throw Bad($"channel counts must be positive (in {InChannels}, out {OutChannels}, latent {LatentChannels})");
        if (LayersPerBlock <= 0) throw Bad($"'layers_per_block' must be positive, got {LayersPerBlock}");
        if (NormNumGroups <= 0) throw Bad($"'norm_num_groups' must be positive, got {NormNumGroups}");
        foreach (var c in BlockOutChannels)
        {
            if (c <= 0 || c % NormNumGroups != 0)
                throw Bad($"'block_out_channels' entry {c} is not a positive multiple of norm_num_groups {NormNumGroups}");
        }

        if (DownBlockTypes.Count != BlockOutChannels.Count)
            throw Bad($"{DownBlockTypes.Count} down_block_types for {BlockOutChannels.Count} block_out_channels");
        if (UpBlockTypes.Count != BlockOutChannels.Count)
            throw Bad($"{UpBlockTypes.Count} up_block_types for {BlockOutChannels.Count} block_out_channels");
        for (var i = 0; i < DownBlockTypes.Count; i++)
        {
            if (DownBlockTypes[i] != DownEncoderBlock)
                throw Bad($"unsupported down block type '{DownBlockTypes[i]}' at index {i} (supported: {DownEncoderBlock})");
        }

        for (var i = 0; i < UpBlockTypes.Count; i++)
        {
            if (UpBlockTypes[i] != UpDecoderBlock)
                throw Bad($"unsupported up block type '{UpBlockTypes[i]}' at index {i} (supported: {UpDecoderBlock})");
        }

        if (ActFn != "silu") throw Bad($"unsupported act_fn '{ActFn}' (supported: silu)");
    }
}
