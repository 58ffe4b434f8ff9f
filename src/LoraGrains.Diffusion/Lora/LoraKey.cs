using System.Text.RegularExpressions;

namespace LoraGrains.Diffusion.Lora;

/// <summary>
/// A tensor name read as part of a LoRA module: which format spells it that way, the component, the module
/// (a kohya name for <see cref="LoraFormat.Kohya"/>, else a diffusers module path) and the tensor's role.
/// <see cref="Format"/> is null for a dotted <c>&lt;component&gt;.&lt;module&gt;.alpha</c>, which the
/// diffusers and PEFT namings share.
/// </summary>
internal sealed partial record LoraKey(string Key, LoraFormat? Format, string Component, string Module, LoraKeyRole Role)
{
    private static readonly (string Prefix, string Component)[] KohyaPrefixes =
    [
        ("lora_unet_", LoraComponent.Unet),
        ("lora_te_", LoraComponent.TextEncoder),
        ("lora_te1_", LoraComponent.TextEncoder),
        ("lora_te2_", LoraComponent.TextEncoder2),
    ];

    private static readonly (string Prefix, string Component)[] DottedPrefixes =
    [
        ("unet.", LoraComponent.Unet),
        ("text_encoder.", LoraComponent.TextEncoder),
        ("text_encoder_2.", LoraComponent.TextEncoder2),
    ];

    private static readonly (string Suffix, LoraKeyRole Role, LoraFormat? Format)[] DottedSuffixes =
    [
        (".lora.down.weight", LoraKeyRole.Down, LoraFormat.Diffusers),
        (".lora.up.weight", LoraKeyRole.Up, LoraFormat.Diffusers),
        (".lora_linear_layer.down.weight", LoraKeyRole.Down, LoraFormat.Diffusers),
        (".lora_linear_layer.up.weight", LoraKeyRole.Up, LoraFormat.Diffusers),
        (".lora_A.weight", LoraKeyRole.Down, LoraFormat.Peft),
        (".lora_B.weight", LoraKeyRole.Up, LoraFormat.Peft),
        (".alpha", LoraKeyRole.Alpha, null),
    ];

    // Attention-processor naming of diffusers < 0.21 (and of its kohya conversion): the LoRA hangs off the
    // attention block, named after the projection: unet "attn1.processor.to_out_lora.down.weight" is
    // attn1.to_out.0, text encoder "self_attn.to_q_lora.down.weight" is self_attn.q_proj.
    [GeneratedRegex(@"^(?<block>.+?)\.(?:processor\.)?to_(?<proj>q|k|v|out)_lora\.(?<role>down|up)\.weight$", RegexOptions.CultureInvariant)]
    private static partial Regex AttentionProcessorKey();

    /// <summary>Reads <paramref name="key"/>; null when it is no LoRA tensor name of a supported format.</summary>
    /// <param name="key">The tensor name.</param>
    /// <param name="unsupported">Set when the name belongs to a known but unsupported adapter kind (e.g. "LyCORIS LoHa").</param>
    public static LoraKey? Parse(string key, out string? unsupported)
    {
        ArgumentNullException.ThrowIfNull(key);
        unsupported = UnsupportedKind(key);
        if (unsupported is not null) return null;
        return ParseKohya(key) ?? ParseDotted(key);
    }

    private static string? UnsupportedKind(string key)
    {
        if (key.Contains(".hada_", StringComparison.Ordinal)) return "LyCORIS LoHa";
        if (key.Contains(".lokr_", StringComparison.Ordinal)) return "LyCORIS LoKr";
        if (key.Contains(".lora_mid.", StringComparison.Ordinal)) return "LyCORIS LoCon with CP/Tucker decomposition (lora_mid)";
        if (key.EndsWith(".dora_scale", StringComparison.Ordinal) || key.Contains(".lora_magnitude_vector", StringComparison.Ordinal)) return "DoRA";
        return null;
    }

    private static LoraKey? ParseKohya(string key)
    {
        foreach (var (prefix, component) in KohyaPrefixes)
        {
            if (!key.StartsWith(prefix, StringComparison.Ordinal)) continue;
            var dot = key.IndexOf('.', prefix.Length);
            if (dot < 0) return null;
            LoraKeyRole? role = key.AsSpan(dot + 1) switch
            {
                "lora_down.weight" => LoraKeyRole.Down,
                "lora_up.weight" => LoraKeyRole.Up,
                "alpha" => LoraKeyRole.Alpha,
                _ => null,
            };
            return role is { } r ? new LoraKey(key, LoraFormat.Kohya, component, key[prefix.Length..dot], r) : null;
        }

        return null;
    }

    private static LoraKey? ParseDotted(string key)
    {
        string? component = null;
        var rest = key;
        foreach (var (prefix, c) in DottedPrefixes)
        {
            if (!key.StartsWith(prefix, StringComparison.Ordinal)) continue;
            component = c;
            rest = key[prefix.Length..];
            break;
        }

        if (component is not null)
        {
            foreach (var (suffix, role, format) in DottedSuffixes)
            {
                if (rest.Length > suffix.Length && rest.EndsWith(suffix, StringComparison.Ordinal))
                    return new LoraKey(key, format, component, rest[..^suffix.Length], role);
            }
        }

        var m = AttentionProcessorKey().Match(rest);
        if (!m.Success) return null;

        // The oldest attention-processor files (pytorch_lora_weights of diffusers' first LoRA scripts) have no component prefix: UNet only.
        component ??= LoraComponent.Unet;
        var proj = m.Groups["proj"].Value;
        var leaf = component == LoraComponent.Unet ? (proj == "out" ? "to_out.0" : "to_" + proj) : proj + "_proj";
        var keyRole = m.Groups["role"].Value == "down" ? LoraKeyRole.Down : LoraKeyRole.Up;
        return new LoraKey(key, LoraFormat.Diffusers, component, m.Groups["block"].Value + "." + leaf, keyRole);
    }
}
