using System.Text.Json;
using LoraGrains.Diffusion.Lora;
using LoraGrains.Torch;
using LoraGrains.Torch.Safetensors;

namespace LoraGrains.Diffusion.Tests.Lora;

/// <summary>Our key mapping against the one diffusers 0.26.3 + PEFT 0.8.2 actually produced (loras/lora_key_map.json).</summary>
public sealed class LoraKeyMapTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lg-lora-map-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    public static TheoryData<string, LoraFormat> Files() => new()
    {
        { "lora_a_kohya", LoraFormat.Kohya },
        { "lora_b_locon_kohya", LoraFormat.Kohya },
        { "lora_c_kohya", LoraFormat.Kohya },
        { "lora_d_diffusers", LoraFormat.Diffusers },
        { "lora_e_peft", LoraFormat.Peft },
    };

    [Theory]
    [MemberData(nameof(Files))]
    public void Modules_ranks_and_alphas_equal_diffusers_mapping(string name, LoraFormat format)
    {
        using var adapter = SdTinyLora.Load(SdTinyLora.File(name));
        var map = SdTinyLora.KeyMap(name);
        var expected = map.GetProperty("modules").EnumerateArray().ToList();

        Assert.Equal(format, adapter.Format);
        Assert.Equal(name, adapter.Name);
        Assert.Equal(map.GetProperty("num_modules").GetInt32(), adapter.Modules.Count);
        Assert.Equal(
            expected.Select(m => m.GetProperty("target_module").GetString()!).Order(StringComparer.Ordinal),
            adapter.Modules.Select(m => m.Target.QualifiedName).Order(StringComparer.Ordinal));

        var byName = adapter.Modules.ToDictionary(m => m.Target.QualifiedName);
        foreach (var e in expected)
        {
            var m = byName[e.GetProperty("target_module").GetString()!];
            var prefix = e.GetProperty("file_key_prefix").GetString()!;
            Assert.StartsWith(prefix + ".", m.DownKey, StringComparison.Ordinal);
            Assert.StartsWith(prefix + ".", m.UpKey, StringComparison.Ordinal);
            Assert.Equal(e.GetProperty("module_type").GetString(), m.Target.Kind.ToString());
            Assert.Equal(e.GetProperty("rank").GetInt32(), m.Rank);
            Assert.Equal(e.GetProperty("peft_r").GetInt32(), m.Rank);
            var fileAlpha = e.GetProperty("alpha_in_file");
            Assert.Equal(fileAlpha.ValueKind == JsonValueKind.Null ? m.Rank : fileAlpha.GetDouble(), m.Alpha);
            Assert.Equal(e.GetProperty("peft_lora_alpha").GetDouble(), m.Alpha);
            Assert.Equal(e.GetProperty("peft_scaling_alpha_over_r").GetDouble(), m.Scale, 12);
            Assert.Equal(e.GetProperty("down_shape").EnumerateArray().Select(d => d.GetInt64()), m.Down.Shape);
            Assert.Equal(e.GetProperty("up_shape").EnumerateArray().Select(d => d.GetInt64()), m.Up.Shape);
        }

        Assert.Equal(
            expected.GroupBy(e => e.GetProperty("target_module").GetString()!.Split('.')[0]).ToDictionary(g => g.Key, g => g.Count()),
            adapter.Report.ModulesPerComponent);
    }

    public static TheoryData<string> Names() => new(SdTinyLora.Names);

    [Theory]
    [MemberData(nameof(Names))]
    public void Every_key_is_attached_to_exactly_one_module(string name)
    {
        using var adapter = SdTinyLora.Load(SdTinyLora.File(name));
        using var file = SafetensorsFile.Open(SdTinyLora.File(name));
        var attached = adapter.Modules.SelectMany(m => new[] { m.DownKey, m.UpKey, m.AlphaKey }).OfType<string>().ToList();

        Assert.Empty(adapter.Report.UnmatchedKeys);
        Assert.Equal(attached.Count, attached.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(file.Entries.Keys.Order(StringComparer.Ordinal), attached.Order(StringComparer.Ordinal));
        Assert.Equal(file.Entries.Count, adapter.Report.TotalKeys);
        Assert.Equal(adapter.Modules.Count, adapter.Report.AppliedModules);
    }

    [Fact]
    public void Peft_and_diffusers_names_of_the_same_weights_load_the_same_modules()
    {
        using var diffusers = SdTinyLora.Load(SdTinyLora.File("lora_d_diffusers"));
        using var peft = SdTinyLora.Load(SdTinyLora.File("lora_e_peft"));
        Assert.Equal(diffusers.Modules.Select(m => m.Target), peft.Modules.Select(m => m.Target));
        foreach (var (d, p) in diffusers.Modules.Zip(peft.Modules))
        {
            Assert.True(d.Down.ContentEquals(p.Down), d.Path);
            Assert.True(d.Up.ContentEquals(p.Up), d.Path);
            Assert.Equal(d.Alpha, p.Alpha);
        }
    }

    /// <summary>
    /// The kohya files rewritten with the names diffusers' own kohya conversion produced (key map
    /// <c>diffusers_converted_keys</c>: attention-processor <c>to_q_lora</c>, <c>lora_linear_layer</c> and
    /// <c>.lora.down</c> names) and diffusers' <c>&lt;component&gt;.&lt;module&gt;.alpha</c> alphas load exactly
    /// like the kohya originals.
    /// </summary>
    [Theory]
    [InlineData("lora_a_kohya", false)]
    [InlineData("lora_b_locon_kohya", false)]
    [InlineData("lora_c_kohya", false)]
    [InlineData("lora_c_kohya", true)]
    public void Legacy_diffusers_names_map_to_the_same_modules(string name, bool dropUnetPrefix)
    {
        var renames = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var e in SdTinyLora.KeyMap(name).GetProperty("modules").EnumerateArray())
        {
            var prefix = e.GetProperty("file_key_prefix").GetString()!;
            var converted = e.GetProperty("diffusers_converted_keys").EnumerateArray().Select(k => k.GetString()!).ToList();
            if (dropUnetPrefix) converted = converted.Select(k => k.StartsWith("unet.", StringComparison.Ordinal) ? k["unet.".Length..] : k).ToList();
            renames[prefix + ".lora_down.weight"] = converted.Single(k => k.EndsWith("down.weight", StringComparison.Ordinal));
            renames[prefix + ".lora_up.weight"] = converted.Single(k => k.EndsWith("up.weight", StringComparison.Ordinal));
            renames[prefix + ".alpha"] = e.GetProperty("target_module").GetString() + ".alpha";
        }

        var path = SdTinyLora.Rewrite(name, Path.Combine(dir, name + ".legacy.safetensors"), tensors =>
        {
            for (var i = 0; i < tensors.Count; i++) tensors[i] = KeyValuePair.Create(renames[tensors[i].Key], tensors[i].Value);
        });

        using var kohya = SdTinyLora.Load(SdTinyLora.File(name));
        using var legacy = SdTinyLora.Load(path);
        Assert.Equal(LoraFormat.Diffusers, legacy.Format);
        Assert.Empty(legacy.Report.UnmatchedKeys);
        Assert.Equal(kohya.Modules.Select(m => m.Target), legacy.Modules.Select(m => m.Target));
        foreach (var (k, l) in kohya.Modules.Zip(legacy.Modules))
        {
            Assert.True(k.Down.ContentEquals(l.Down), k.Path);
            Assert.True(k.Up.ContentEquals(l.Up), k.Path);
            Assert.Equal(k.Alpha, l.Alpha);
        }
    }

    [Fact]
    public void Sdxl_style_lora_te1_prefix_is_the_first_text_encoder()
    {
        var path = SdTinyLora.Rewrite("lora_a_kohya", Path.Combine(dir, "te1.safetensors"), tensors =>
        {
            for (var i = 0; i < tensors.Count; i++)
                tensors[i] = KeyValuePair.Create(tensors[i].Key.Replace("lora_te_", "lora_te1_", StringComparison.Ordinal), tensors[i].Value);
        });

        using var original = SdTinyLora.Load(SdTinyLora.File("lora_a_kohya"));
        using var te1 = SdTinyLora.Load(path);
        Assert.Empty(te1.Report.UnmatchedKeys);
        Assert.Equal(16, te1.Report.ModulesPerComponent[LoraComponent.TextEncoder]);
        Assert.Equal(original.Modules.Select(m => (m.Target, m.Alpha)), te1.Modules.Select(m => (m.Target, m.Alpha)));
    }

    [Fact]
    public void Content_hash_is_the_sha256_of_the_file_recorded_at_generation()
    {
        using var summary = JsonDocument.Parse(File.ReadAllText(Fixtures.Path("generation_summary.json")));
        foreach (var name in SdTinyLora.Names)
        {
            using var adapter = SdTinyLora.Load(SdTinyLora.File(name));
            var expected = summary.RootElement.GetProperty("files").GetProperty($"loras/{name}.safetensors").GetProperty("sha256").GetString();
            Assert.Equal(expected, adapter.ContentHash);
        }
    }

    [Fact]
    public void Kohya_metadata_is_kept()
    {
        using var adapter = SdTinyLora.Load(SdTinyLora.File("lora_b_locon_kohya"));
        Assert.Equal("8", adapter.Metadata["ss_network_dim"]);
        Assert.Equal("{\"conv_dim\": \"4\", \"conv_alpha\": \"1.0\"}", adapter.Metadata["ss_network_args"]);
    }

    [Fact]
    public void Loads_onto_the_requested_dtype()
    {
        using var adapter = LoraAdapter.Load(SdTinyLora.File("lora_a_kohya"), SdTinyLora.Targets, Device.Cpu, DType.Float64);
        Assert.All(adapter.Modules, m => Assert.Equal((DType.Float64, DType.Float64), (m.Down.DType, m.Up.DType)));
    }
}
