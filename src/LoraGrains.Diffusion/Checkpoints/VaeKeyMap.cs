namespace LoraGrains.Diffusion.Checkpoints;

/// <summary>
/// The complete LDM → diffusers name table of an AutoencoderKL, derived from its architecture.
/// <list type="bullet">
/// <item><c>encoder.down.i.block.j</c> → <c>encoder.down_blocks.i.resnets.j</c>; <c>encoder.down.i.downsample.conv</c> → <c>encoder.down_blocks.i.downsamplers.0.conv</c>.</item>
/// <item><c>decoder.up.i.block.j</c> → <c>decoder.up_blocks.(levels−1−i).resnets.j</c>: LDM numbers decoder levels by resolution
/// (0 = full size, built last), diffusers in execution order; likewise <c>decoder.up.i.upsample.conv</c>.</item>
/// <item><c>mid.block_1/2</c> → <c>mid_block.resnets.0/1</c>; <c>mid.attn_1.norm/q/k/v/proj_out</c> → <c>mid_block.attentions.0.group_norm/to_q/to_k/to_v/to_out.0</c>
/// (1×1 conv weights <c>[C, C, 1, 1]</c> viewed as linear <c>[C, C]</c>).</item>
/// <item><c>nin_shortcut</c> → <c>conv_shortcut</c>; <c>norm_out</c> → <c>conv_norm_out</c>; <c>quant_conv</c>/<c>post_quant_conv</c> keep their names.</item>
/// </list>
/// </summary>
public static class VaeKeyMap
{
    /// <summary>Every VAE tensor of <paramref name="architecture"/>: diffusers name, LDM name, shape.</summary>
    public static IReadOnlyList<KeyMapping> Create(VaeArchitecture architecture)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        var a = architecture;
        var b = new KeyMapBuilder("", VaeArchitecture.SourcePrefix);
        var levels = a.ChannelMult.Count;
        long z = a.LatentChannels;
        var widths = a.BlockOutChannels.Select(w => (long)w).ToArray();

        long current = a.BaseChannels;
        b.Conv("encoder.conv_in", "encoder.conv_in", current, a.InChannels, 3);
        for (var i = 0; i < levels; i++)
        {
            for (var j = 0; j < a.LayersPerBlock; j++)
            {
                Resnet(b, $"encoder.down_blocks.{i}.resnets.{j}", $"encoder.down.{i}.block.{j}", current, widths[i]);
                current = widths[i];
            }

            if (i != levels - 1) b.Conv($"encoder.down_blocks.{i}.downsamplers.0.conv", $"encoder.down.{i}.downsample.conv", current, current, 3);
        }

        Mid(b, "encoder", current);
        b.Norm("encoder.conv_norm_out", "encoder.norm_out", current);
        b.Conv("encoder.conv_out", "encoder.conv_out", 2 * z, current, 3);
        b.Conv("quant_conv", "quant_conv", 2 * z, 2 * z, 1);
        b.Conv("post_quant_conv", "post_quant_conv", z, z, 1);

        current = widths[^1];
        b.Conv("decoder.conv_in", "decoder.conv_in", current, z, 3);
        Mid(b, "decoder", current);
        for (var u = 0; u < levels; u++)
        {
            var level = levels - 1 - u;
            for (var j = 0; j <= a.LayersPerBlock; j++)
            {
                Resnet(b, $"decoder.up_blocks.{u}.resnets.{j}", $"decoder.up.{level}.block.{j}", current, widths[level]);
                current = widths[level];
            }

            if (level != 0) b.Conv($"decoder.up_blocks.{u}.upsamplers.0.conv", $"decoder.up.{level}.upsample.conv", current, current, 3);
        }

        b.Norm("decoder.conv_norm_out", "decoder.norm_out", current);
        b.Conv("decoder.conv_out", "decoder.conv_out", a.OutChannels, current, 3);
        return b.Rows;
    }

    private static void Resnet(KeyMapBuilder b, string d, string s, long inChannels, long outChannels)
    {
        b.Norm(d + ".norm1", s + ".norm1", inChannels);
        b.Conv(d + ".conv1", s + ".conv1", outChannels, inChannels, 3);
        b.Norm(d + ".norm2", s + ".norm2", outChannels);
        b.Conv(d + ".conv2", s + ".conv2", outChannels, outChannels, 3);
        if (inChannels != outChannels) b.Conv(d + ".conv_shortcut", s + ".nin_shortcut", outChannels, inChannels, 1);
    }

    private static void Mid(KeyMapBuilder b, string part, long channels)
    {
        Resnet(b, $"{part}.mid_block.resnets.0", $"{part}.mid.block_1", channels, channels);
        var d = $"{part}.mid_block.attentions.0";
        var s = $"{part}.mid.attn_1";
        b.Norm(d + ".group_norm", s + ".norm", channels);
        foreach (var (to, from) in new[] { ("to_q", "q"), ("to_k", "k"), ("to_v", "v"), ("to_out.0", "proj_out") })
        {
            // Real SD files store these 1×1 conv weights as [C, C, 1, 1]; some converters also wrote biases as [C, 1, 1].
            b.Tensor($"{d}.{to}.weight", $"{s}.{from}.weight", [channels, channels], squeezable: true);
            b.Tensor($"{d}.{to}.bias", $"{s}.{from}.bias", [channels], squeezable: true);
        }

        Resnet(b, $"{part}.mid_block.resnets.1", $"{part}.mid.block_2", channels, channels);
    }
}
