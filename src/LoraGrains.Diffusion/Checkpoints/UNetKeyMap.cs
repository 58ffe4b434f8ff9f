namespace LoraGrains.Diffusion.Checkpoints;

/// <summary>
/// The complete LDM → diffusers name table of a UNet, derived from its architecture (so it holds for any
/// number of levels, blocks per level and attention placement), each row with the shape diffusers needs.
/// <list type="bullet">
/// <item><c>input_blocks.0.0</c> → <c>conv_in</c>; <c>time_embed.0/2</c> → <c>time_embedding.linear_1/2</c>; <c>out.0/2</c> → <c>conv_norm_out</c>/<c>conv_out</c>.</item>
/// <item><c>input_blocks.k</c> (k = 1 + level·(blocks+1) + j) → <c>down_blocks.level.resnets.j</c> (<c>.0</c>) and <c>.attentions.j</c> (<c>.1</c>);
/// the last k of a level holds the <c>op</c> downsampler → <c>down_blocks.level.downsamplers.0.conv</c>.</item>
/// <item><c>middle_block.0/1/2</c> → <c>mid_block.resnets.0</c>, <c>mid_block.attentions.0</c>, <c>mid_block.resnets.1</c>.</item>
/// <item><c>output_blocks.k</c> (k = u·(blocks+1) + j, u counting from the deepest level) → <c>up_blocks.u.resnets.j</c> / <c>.attentions.j</c>;
/// the upsampler <c>output_blocks.k.{1|2}.conv</c> (2 after an attention) → <c>up_blocks.u.upsamplers.0.conv</c>.</item>
/// <item>Resnets: <c>in_layers.0/2</c> → <c>norm1</c>/<c>conv1</c>, <c>emb_layers.1</c> → <c>time_emb_proj</c>,
/// <c>out_layers.0/3</c> → <c>norm2</c>/<c>conv2</c>, <c>skip_connection</c> → <c>conv_shortcut</c>.</item>
/// <item>Spatial transformers keep their inner names (<c>norm</c>, <c>proj_in</c>, <c>transformer_blocks.t.attn1/attn2/ff/norm1-3</c>, <c>proj_out</c>).</item>
/// </list>
/// </summary>
public static class UNetKeyMap
{
    /// <summary>Every UNet tensor of <paramref name="architecture"/>: diffusers name, LDM name, shape.</summary>
    public static IReadOnlyList<KeyMapping> Create(UNetArchitecture architecture)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        var a = architecture;
        var b = new KeyMapBuilder("", UNetArchitecture.SourcePrefix);
        var levels = a.ChannelMult.Count;
        var blocks = a.LayersPerBlock;
        long mc = a.ModelChannels, temb = a.TimeEmbedDim;

        b.Conv("conv_in", "input_blocks.0.0", mc, a.InChannels, 3);
        b.Linear("time_embedding.linear_1", "time_embed.0", temb, mc);
        b.Linear("time_embedding.linear_2", "time_embed.2", temb, temb);

        // Skip connections: every input block's output width, consumed in reverse by the output blocks.
        var skips = new Stack<long>();
        skips.Push(mc);
        var current = mc;
        var k = 1;
        for (var level = 0; level < levels; level++)
        {
            long width = mc * a.ChannelMult[level];
            for (var j = 0; j < blocks; j++, k++)
            {
                Resnet(b, $"down_blocks.{level}.resnets.{j}", $"input_blocks.{k}.0", current, width, temb);
                current = width;
                if (a.AttentionLevels[level]) Transformer(b, $"down_blocks.{level}.attentions.{j}", $"input_blocks.{k}.1", width, a);
                skips.Push(current);
            }

            if (level != levels - 1)
            {
                b.Conv($"down_blocks.{level}.downsamplers.0.conv", $"input_blocks.{k}.0.op", current, current, 3);
                skips.Push(current);
                k++;
            }
        }

        Resnet(b, "mid_block.resnets.0", "middle_block.0", current, current, temb);
        Transformer(b, "mid_block.attentions.0", "middle_block.1", current, a);
        Resnet(b, "mid_block.resnets.1", "middle_block.2", current, current, temb);

        k = 0;
        for (var u = 0; u < levels; u++)
        {
            var level = levels - 1 - u;
            long width = mc * a.ChannelMult[level];
            for (var j = 0; j <= blocks; j++, k++)
            {
                Resnet(b, $"up_blocks.{u}.resnets.{j}", $"output_blocks.{k}.0", current + skips.Pop(), width, temb);
                current = width;
                var next = 1;
                if (a.AttentionLevels[level])
                {
                    Transformer(b, $"up_blocks.{u}.attentions.{j}", $"output_blocks.{k}.1", width, a);
                    next = 2;
                }

                if (j == blocks && u != levels - 1)
                    b.Conv($"up_blocks.{u}.upsamplers.0.conv", $"output_blocks.{k}.{next}.conv", width, width, 3);
            }
        }

        b.Norm("conv_norm_out", "out.0", current);
        b.Conv("conv_out", "out.2", a.OutChannels, current, 3);
        return b.Rows;
    }

    private static void Resnet(KeyMapBuilder b, string d, string s, long inChannels, long outChannels, long temb)
    {
        b.Norm(d + ".norm1", s + ".in_layers.0", inChannels);
        b.Conv(d + ".conv1", s + ".in_layers.2", outChannels, inChannels, 3);
        b.Linear(d + ".time_emb_proj", s + ".emb_layers.1", outChannels, temb);
        b.Norm(d + ".norm2", s + ".out_layers.0", outChannels);
        b.Conv(d + ".conv2", s + ".out_layers.3", outChannels, outChannels, 3);
        if (inChannels != outChannels) b.Conv(d + ".conv_shortcut", s + ".skip_connection", outChannels, inChannels, 1);
    }

    // Inner width = heads × head size = channels in both LDM and diffusers; the feed-forward is GEGLU (proj to 2 × 4C).
    private static void Transformer(KeyMapBuilder b, string d, string s, long channels, UNetArchitecture a)
    {
        void Projection(string name)
        {
            if (a.UseLinearProjection) b.Linear($"{d}.{name}", $"{s}.{name}", channels, channels);
            else b.Conv($"{d}.{name}", $"{s}.{name}", channels, channels, 1);
        }

        b.Norm(d + ".norm", s + ".norm", channels);
        Projection("proj_in");
        for (var t = 0; t < a.TransformerDepth; t++)
        {
            var block = $".transformer_blocks.{t}";
            foreach (var (attn, kvWidth) in new[] { ("attn1", channels), ("attn2", (long)a.ContextDim) })
            {
                b.Linear($"{d}{block}.{attn}.to_q", $"{s}{block}.{attn}.to_q", channels, channels, bias: false);
                b.Linear($"{d}{block}.{attn}.to_k", $"{s}{block}.{attn}.to_k", channels, kvWidth, bias: false);
                b.Linear($"{d}{block}.{attn}.to_v", $"{s}{block}.{attn}.to_v", channels, kvWidth, bias: false);
                b.Linear($"{d}{block}.{attn}.to_out.0", $"{s}{block}.{attn}.to_out.0", channels, channels);
            }

            b.Linear($"{d}{block}.ff.net.0.proj", $"{s}{block}.ff.net.0.proj", 8 * channels, channels);
            b.Linear($"{d}{block}.ff.net.2", $"{s}{block}.ff.net.2", channels, 4 * channels);
            for (var n = 1; n <= 3; n++) b.Norm($"{d}{block}.norm{n}", $"{s}{block}.norm{n}", channels);
        }

        Projection("proj_out");
    }
}
