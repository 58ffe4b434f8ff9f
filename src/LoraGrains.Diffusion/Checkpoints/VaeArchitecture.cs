using System.Text.Json.Nodes;
using LoraGrains.Diffusion.Models;
using LoraGrains.Torch.Safetensors;

namespace LoraGrains.Diffusion.Checkpoints;

/// <summary>
/// The hyper-parameters of an LDM <c>AutoencoderKL</c> (first stage), from the yaml's <c>ddconfig</c> or
/// inferred from tensor shapes, convertible to the diffusers <c>AutoencoderKL</c> config.
/// </summary>
public sealed record VaeArchitecture
{
    /// <summary>Prefix of the VAE tensors in an LDM single file.</summary>
    public const string SourcePrefix = "first_stage_model.";

    /// <summary>SD's latent scale (yaml <c>scale_factor</c>; diffusers' default when the yaml has none).</summary>
    public const double Sd1ScalingFactor = 0.18215;

    /// <summary>Image channels in (3).</summary>
    public required int InChannels { get; init; }

    /// <summary>Image channels out (<c>out_ch</c>, 3).</summary>
    public required int OutChannels { get; init; }

    /// <summary>Base width <c>ch</c> (SD: 128).</summary>
    public required int BaseChannels { get; init; }

    /// <summary><c>ch_mult</c>, one per level (SD: 1, 2, 4, 4).</summary>
    public required IReadOnlyList<int> ChannelMult { get; init; }

    /// <summary><c>num_res_blocks</c> (the decoder has one more per level).</summary>
    public required int LayersPerBlock { get; init; }

    /// <summary><c>z_channels</c> = diffusers <c>latent_channels</c> (4).</summary>
    public required int LatentChannels { get; init; }

    /// <summary>Latent scale applied by the pipeline (<c>scaling_factor</c>).</summary>
    public double ScalingFactor { get; init; } = Sd1ScalingFactor;

    /// <summary>Default image size (diffusers <c>sample_size</c>); not an architecture property, 512 for SD 1.5.</summary>
    public int SampleSize { get; init; } = 512;

    /// <summary>Widths of each level (diffusers <c>block_out_channels</c>).</summary>
    public IReadOnlyList<int> BlockOutChannels => ChannelMult.Select(m => m * BaseChannels).ToArray();

    /// <summary>Reads <c>model.params.first_stage_config.params</c> of an LDM yaml.</summary>
    internal static VaeArchitecture FromLdmConfig(ConfigSection firstStage, double scalingFactor, int sampleSize)
    {
        var dd = firstStage.Section("ddconfig") ?? throw firstStage.Error("ddconfig", "is missing");
        if (!dd.Bool("double_z", true)) throw dd.Error("double_z", "is false: diffusers' AutoencoderKL always predicts mean and log-variance");
        if (dd.Has("attn_resolutions") && dd.IntList("attn_resolutions").Length != 0)
            throw dd.Error("attn_resolutions", "is not empty: attention inside the VAE's levels cannot be represented by diffusers' AutoencoderKL");
        var z = dd.Int("z_channels");
        var embed = firstStage.Int("embed_dim", z);
        if (embed != z) throw firstStage.Error("embed_dim", $"({embed}) differs from z_channels ({z}): diffusers' AutoencoderKL needs them equal");
        var a = new VaeArchitecture
        {
            InChannels = dd.Int("in_channels", 3),
            OutChannels = dd.Int("out_ch", 3),
            BaseChannels = dd.Int("ch"),
            ChannelMult = dd.IntList("ch_mult"),
            LayersPerBlock = dd.Int("num_res_blocks"),
            LatentChannels = z,
            ScalingFactor = scalingFactor,
            SampleSize = sampleSize,
        };
        a.Validate(dd.Path);
        return a;
    }

    /// <summary>Infers the architecture from the tensor shapes under <see cref="SourcePrefix"/>.</summary>
    /// <exception cref="ModelLoadException">The tensors do not form an LDM AutoencoderKL.</exception>
    public static VaeArchitecture Infer(IReadOnlyDictionary<string, SafetensorsEntry> entries, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(entries);
        long[] Shape(string name) => entries.TryGetValue(SourcePrefix + name, out var e)
            ? e.Shape
            : throw new ModelLoadException($"{sourceName}: cannot infer the VAE architecture: '{SourcePrefix}{name}' is missing");

        var convIn = Shape("encoder.conv_in.weight");
        var levels = UNetArchitecture.BlockIndices(entries.Keys, SourcePrefix + "encoder.down.").Count;
        var blocks = UNetArchitecture.BlockIndices(entries.Keys, SourcePrefix + "encoder.down.0.block.").Count;
        if (levels == 0 || blocks == 0)
            throw new ModelLoadException($"{sourceName}: cannot infer the VAE architecture: no encoder.down.N.block.M tensors");
        var ch = convIn[0];
        var mult = new int[levels];
        for (var i = 0; i < levels; i++)
        {
            var width = Shape($"encoder.down.{i}.block.0.conv2.weight")[0];
            if (width % ch != 0)
                throw new ModelLoadException($"{sourceName}: cannot infer the VAE architecture: level {i} has {width} channels, not a multiple of ch {ch}");
            mult[i] = (int)(width / ch);
        }

        var z = Shape("decoder.conv_in.weight")[1];
        var postQuant = Shape("post_quant_conv.weight");
        if (postQuant[1] != z)
            throw new ModelLoadException($"{sourceName}: VAE embed_dim ({postQuant[1]}) differs from z_channels ({z}): diffusers' AutoencoderKL needs them equal");
        var a = new VaeArchitecture
        {
            InChannels = (int)convIn[1],
            OutChannels = (int)Shape("decoder.conv_out.weight")[0],
            BaseChannels = (int)ch,
            ChannelMult = mult,
            LayersPerBlock = blocks,
            LatentChannels = (int)z,
        };
        a.Validate(sourceName);
        return a;
    }

    private void Validate(string source)
    {
        string? problem = null;
        if (ChannelMult.Count == 0) problem = "has no levels";
        else if (ChannelMult[0] != 1) problem = $"ch_mult starts with {ChannelMult[0]}: diffusers' AutoencoderKL requires the first level to keep ch";
        else if (BaseChannels <= 0 || LayersPerBlock <= 0 || LatentChannels <= 0 || ChannelMult.Any(m => m <= 0)) problem = "has non-positive sizes";
        else if (BlockOutChannels.Any(c => c % 32 != 0)) problem = $"block widths [{string.Join(", ", BlockOutChannels)}] are not multiples of the 32 GroupNorm groups";
        if (problem is not null) throw new ModelLoadException($"{source}: VAE {problem}");
    }

    /// <summary>The diffusers <c>AutoencoderKL</c> config.json content (as diffusers' <c>create_vae_diffusers_config</c> plus class defaults).</summary>
    public JsonObject ToDiffusersConfig()
    {
        var n = ChannelMult.Count;
        return new JsonObject
        {
            ["_class_name"] = "AutoencoderKL",
            ["act_fn"] = "silu",
            ["block_out_channels"] = UNetArchitecture.IntArray(BlockOutChannels),
            ["down_block_types"] = new JsonArray(Enumerable.Repeat(0, n).Select(_ => (JsonNode)JsonValue.Create("DownEncoderBlock2D")).ToArray()),
            ["force_upcast"] = true,
            ["in_channels"] = InChannels,
            ["latent_channels"] = LatentChannels,
            ["layers_per_block"] = LayersPerBlock,
            ["norm_num_groups"] = 32,
            ["out_channels"] = OutChannels,
            ["sample_size"] = SampleSize,
            ["scaling_factor"] = ScalingFactor,
            ["up_block_types"] = new JsonArray(Enumerable.Repeat(0, n).Select(_ => (JsonNode)JsonValue.Create("UpDecoderBlock2D")).ToArray()),
        };
    }
}
