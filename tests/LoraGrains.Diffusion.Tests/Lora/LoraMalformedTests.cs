using LoraGrains.Diffusion.Lora;
using LoraGrains.Torch;
using LoraGrains.Torch.Safetensors;
using Xunit.Abstractions;

namespace LoraGrains.Diffusion.Tests.Lora;

/// <summary>Broken or foreign adapter files, made from modified copies of the fixtures: each is refused with a message naming the file and the problem.</summary>
public sealed class LoraMalformedTests(ITestOutputHelper output) : IDisposable
{
    private const string ToQ = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q";
    private const string LastTe = "lora_te_text_model_encoder_layers_3_self_attn_v_proj";
    private const string Conv1 = "lora_unet_down_blocks_0_resnets_0_conv1";

    private readonly string dir = Directory.CreateTempSubdirectory("lg-lora-bad-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    public static TheoryData<string, string> Corpus() => new()
    {
        { "rank-mismatch", "rank mismatch for unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q: down '" + ToQ + ".lora_down.weight' [4, 32] has rank 4 but up '" + ToQ + ".lora_up.weight' [32, 3] has rank 3" },
        { "in-features", "down '" + ToQ + ".lora_down.weight' [4, 40] does not fit unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q (Linear 32→32): expected [4, 32]" },
        { "out-features", "up '" + ToQ + ".lora_up.weight' [48, 4] does not fit unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q (Linear 32→32): expected [32, 4]" },
        { "conv-kernel", "down '" + Conv1 + ".lora_down.weight' [4, 32, 1, 1] does not fit unet.down_blocks.0.resnets.0.conv1 (Conv2d 32→32, 3x3, stride 1): expected [4, 32, 3, 3]" },
        { "linear-as-conv", "down '" + ToQ + ".lora_down.weight' [4, 32, 3, 3] does not fit" },
        { "nan", "'" + LastTe + ".lora_down.weight' contains NaN (1 of 128 values)" },
        { "inf", "'" + LastTe + ".lora_up.weight' contains infinite values (2 of 128)" },
        { "nan-alpha", "alpha '" + LastTe + ".alpha' is NaN" },
        { "alpha-not-scalar", "alpha '" + ToQ + ".alpha' has shape [2], expected a single value" },
        { "integer-weight", "'" + ToQ + ".lora_down.weight' is Int64, expected a floating-point tensor" },
        { "mostly-unmatched", "48 of 64 modules match no layer of this model (is it for another base model, e.g. SDXL?)" },
        { "other-text-encoder", "16 of 16 modules match no layer of this model (is it for another base model, e.g. SDXL?); first: 'lora_te2_" },
        { "loha", "unsupported LyCORIS LoHa/LoKr adapter (LyCORIS LoHa: 5 of 197 keys, e.g. '" + ToQ + ".hada_t1')" },
        { "lokr", "unsupported LyCORIS LoHa/LoKr adapter (LyCORIS LoKr: 3 of 193 keys" },
        { "dora", "unsupported adapter type (DoRA: 1 of 193 keys" },
        { "empty", "not a readable safetensors file: file is 0 bytes, too short" },
        { "truncated", "not a readable safetensors file: tensor 'lora_unet_mid_block_resnets_0_conv2.lora_down.weight': data_offsets [285744, 294960] run past the data section (291682 bytes)" },
        { "not-safetensors", "not a readable safetensors file: header length" },
        { "no-tensors", "holds no tensors" },
        { "no-lora-keys", "no LoRA keys found (expected kohya lora_down/lora_up, diffusers lora.down/lora.up or PEFT lora_A/lora_B tensors); is it a model checkpoint?" },
        { "down-without-up", "unet module '" + ToQ["lora_unet_".Length..] + "' has a down weight '" + ToQ + ".lora_down.weight' but no up weight" },
        { "up-without-down", "has an up weight '" + ToQ + ".lora_up.weight' but no down weight" },
        { "mixed-formats", "mixes LoRA key namings: Diffusers (e.g. 'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.lora.down.weight'), Peft (e.g." },
        { "te-and-te1", "'lora_te1_text_model_encoder_layers_0_self_attn_k_proj.alpha' and 'lora_te_text_model_encoder_layers_0_self_attn_k_proj.alpha' are both the alpha of text_encoder module 'text_model_encoder_layers_0_self_attn_k_proj'" },
        { "missing-file", "not a readable safetensors file: cannot be read: Could not find file" },
    };

    [Theory]
    [MemberData(nameof(Corpus))]
    public void Malformed_adapter_is_refused_with_a_clear_message(string name, string expected)
    {
        var path = Make(name);
        using var scope = TensorScope.Enter();
        var e = Assert.Throws<LoraFormatException>(() => SdTinyLora.Load(path));
        output.WriteLine(e.Message);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.StartsWith(path + ": ", e.Message, StringComparison.Ordinal);
        Assert.Equal(path, e.FilePath);

        // Nothing partially returned: every tensor loaded before the failure was freed again.
        Assert.Equal(0, scope.Count);
        if (expected.Contains("safetensors file", StringComparison.Ordinal)) Assert.IsType<SafetensorsException>(e.InnerException);
    }

    [Fact]
    public void Every_corpus_entry_has_its_own_message()
    {
        var messages = ((IEnumerable<object[]>)Corpus()).Select(row => (string)row[1]).ToList();
        Assert.All(messages, m => Assert.Single(messages, other => other.Contains(m, StringComparison.Ordinal)));
    }

    [Fact]
    public void Unknown_keys_are_reported_and_the_rest_is_loaded()
    {
        var path = SdTinyLora.Rewrite("lora_a_kohya", Path.Combine(dir, "unknown.safetensors"), ts =>
        {
            // A kohya module for a layer sd-tiny does not have (SD-1.5 has down_blocks.2), and a stray tensor.
            foreach (var suffix in new[] { ".lora_down.weight", ".lora_up.weight", ".alpha" })
            {
                var source = ts.Single(p => p.Key == ToQ + suffix).Value;
                ts.Add(KeyValuePair.Create("lora_unet_down_blocks_2_attentions_0_transformer_blocks_0_attn1_to_q" + suffix, source.Clone()));
            }

            ts.Add(KeyValuePair.Create("emb_params", Torch.Torch.Zeros([2, 32])));
        });

        using (var adapter = SdTinyLora.Load(path))
        {
            Assert.Equal(64, adapter.Modules.Count);
            Assert.Equal(196, adapter.Report.TotalKeys);
            Assert.Equal(
                [
                    new LoraUnmatchedKey("emb_params", "not a LoRA tensor name (kohya lora_down/lora_up/alpha, diffusers lora.down/lora.up, PEFT lora_A/lora_B)"),
                    new LoraUnmatchedKey("lora_unet_down_blocks_2_attentions_0_transformer_blocks_0_attn1_to_q.alpha", "kohya name 'down_blocks_2_attentions_0_transformer_blocks_0_attn1_to_q' matches no unet layer of this model"),
                    new LoraUnmatchedKey("lora_unet_down_blocks_2_attentions_0_transformer_blocks_0_attn1_to_q.lora_down.weight", "kohya name 'down_blocks_2_attentions_0_transformer_blocks_0_attn1_to_q' matches no unet layer of this model"),
                    new LoraUnmatchedKey("lora_unet_down_blocks_2_attentions_0_transformer_blocks_0_attn1_to_q.lora_up.weight", "kohya name 'down_blocks_2_attentions_0_transformer_blocks_0_attn1_to_q' matches no unet layer of this model"),
                ],
                adapter.Report.UnmatchedKeys);
        }

        var e = Assert.Throws<LoraFormatException>(() => SdTinyLora.Load(path, new LoraLoadOptions { RejectUnmatchedKeys = true }));
        Assert.Contains("4 of 196 keys are not applied, first: 'emb_params'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_component_missing_from_the_targets_is_reported()
    {
        using var adapter = LoraAdapter.Load(SdTinyLora.File("lora_b_locon_kohya"),
            SdTinyLora.Targets.Where(t => t.Component == LoraComponent.Unet).ToList(), Device.Cpu, DType.Float32);
        Assert.Equal(117, adapter.Modules.Count);
        Assert.Equal(24 * 3, adapter.Report.UnmatchedKeys.Count);
        Assert.All(adapter.Report.UnmatchedKeys, u => Assert.Equal("this model has no text_encoder component", u.Reason));
    }

    private string Make(string name)
    {
        var path = Path.Combine(dir, name + ".safetensors");
        switch (name)
        {
            case "rank-mismatch":
                return Edit("lora_a_kohya", path, ts => Replace(ts, ToQ + ".lora_up.weight", _ => Torch.Torch.Randn([32, 3])));
            case "in-features":
                return Edit("lora_a_kohya", path, ts => Replace(ts, ToQ + ".lora_down.weight", _ => Torch.Torch.Randn([4, 40])));
            case "out-features":
                return Edit("lora_a_kohya", path, ts => Replace(ts, ToQ + ".lora_up.weight", _ => Torch.Torch.Randn([48, 4])));
            case "conv-kernel":
                return Edit("lora_b_locon_kohya", path, ts => Replace(ts, Conv1 + ".lora_down.weight", _ => Torch.Torch.Randn([4, 32, 1, 1])));
            case "linear-as-conv":
                return Edit("lora_a_kohya", path, ts =>
                {
                    Replace(ts, ToQ + ".lora_down.weight", _ => Torch.Torch.Randn([4, 32, 3, 3]));
                    Replace(ts, ToQ + ".lora_up.weight", _ => Torch.Torch.Randn([32, 4, 1, 1]));
                });
            case "nan":
                return Edit("lora_a_kohya", path, ts => Replace(ts, LastTe + ".lora_down.weight", t => WithValues(t, float.NaN)));
            case "inf":
                return Edit("lora_a_kohya", path, ts => Replace(ts, LastTe + ".lora_up.weight", t => WithValues(t, float.PositiveInfinity, float.NegativeInfinity)));
            case "nan-alpha":
                return Edit("lora_a_kohya", path, ts => Replace(ts, LastTe + ".alpha", _ => Torch.Torch.Scalar(double.NaN)));
            case "alpha-not-scalar":
                return Edit("lora_a_kohya", path, ts => Replace(ts, ToQ + ".alpha", _ => Torch.Torch.Full([2], 2.0)));
            case "integer-weight":
                return Edit("lora_a_kohya", path, ts => Replace(ts, ToQ + ".lora_down.weight", t => t.To(DType.Int64)));
            case "mostly-unmatched":
                // An SDXL-style kohya file: the UNet in LDM block naming (input/middle/output blocks) sd-scripts uses for SDXL.
                return Edit("lora_a_kohya", path, ts => Rename(ts, k => k
                    .Replace("lora_unet_down_blocks_", "lora_unet_input_blocks_", StringComparison.Ordinal)
                    .Replace("lora_unet_mid_block_", "lora_unet_middle_block_", StringComparison.Ordinal)
                    .Replace("lora_unet_up_blocks_", "lora_unet_output_blocks_", StringComparison.Ordinal)));
            case "other-text-encoder":
                return Edit("lora_a_kohya", path, ts =>
                {
                    Remove(ts, k => k.StartsWith("lora_unet_", StringComparison.Ordinal));
                    Rename(ts, k => k.Replace("lora_te_", "lora_te2_", StringComparison.Ordinal));
                });
            case "loha":
                return Edit("lora_a_kohya", path, ts =>
                {
                    foreach (var part in new[] { "hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b", "hada_t1" }) ts.Add(KeyValuePair.Create($"{ToQ}.{part}", Torch.Torch.Randn([4, 4])));
                });
            case "lokr":
                return Edit("lora_a_kohya", path, ts =>
                {
                    Remove(ts, k => k.StartsWith(ToQ + ".lora_", StringComparison.Ordinal));
                    foreach (var part in new[] { "lokr_w1", "lokr_w2_a", "lokr_w2_b" }) ts.Add(KeyValuePair.Create($"{ToQ}.{part}", Torch.Torch.Randn([4, 4])));
                });
            case "dora":
                return Edit("lora_a_kohya", path, ts => ts.Add(KeyValuePair.Create(ToQ + ".dora_scale", Torch.Torch.Ones([1, 32]))));
            case "empty":
                File.WriteAllBytes(path, []);
                return path;
            case "truncated":
                var bytes = File.ReadAllBytes(SdTinyLora.File("lora_b_locon_kohya"));
                File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
                return path;
            case "not-safetensors":
                File.WriteAllText(path, "this is a text file, not a LoRA");
                return path;
            case "no-tensors":
                SafetensorsWriter.Write(path, [], new Dictionary<string, string> { ["format"] = "pt" });
                return path;
            case "no-lora-keys":
                return SdTinyLora.WeightsPath(LoraComponent.Unet);
            case "down-without-up":
                return Edit("lora_a_kohya", path, ts => Remove(ts, k => k == ToQ + ".lora_up.weight"));
            case "up-without-down":
                return Edit("lora_a_kohya", path, ts => Remove(ts, k => k == ToQ + ".lora_down.weight"));
            case "mixed-formats":
                return Edit("lora_e_peft", path, ts => Rename(ts, k => k
                    .Replace("attn1.to_q.lora_A.weight", "attn1.to_q.lora.down.weight", StringComparison.Ordinal)
                    .Replace("attn1.to_q.lora_B.weight", "attn1.to_q.lora.up.weight", StringComparison.Ordinal)));
            case "te-and-te1":
                return Edit("lora_a_kohya", path, ts =>
                {
                    foreach (var (k, t) in ts.Where(p => p.Key.StartsWith("lora_te_text_model_encoder_layers_0_self_attn_k_proj", StringComparison.Ordinal)).ToList())
                        ts.Add(KeyValuePair.Create(k.Replace("lora_te_", "lora_te1_", StringComparison.Ordinal), t.Clone()));
                });
            case "missing-file":
                return Path.Combine(dir, "does-not-exist.safetensors");
            default:
                throw new ArgumentOutOfRangeException(nameof(name), name, null);
        }
    }

    private static string Edit(string fixture, string path, Action<List<KeyValuePair<string, Tensor>>> edit) => SdTinyLora.Rewrite(fixture, path, edit);

    private static void Replace(List<KeyValuePair<string, Tensor>> ts, string key, Func<Tensor, Tensor> make)
    {
        var i = ts.FindIndex(p => p.Key == key);
        Assert.True(i >= 0, key);
        var old = ts[i].Value;
        ts[i] = KeyValuePair.Create(key, make(old));
        old.Dispose();
    }

    private static void Remove(List<KeyValuePair<string, Tensor>> ts, Func<string, bool> which)
    {
        foreach (var (_, t) in ts.Where(p => which(p.Key))) t.Dispose();
        Assert.True(ts.RemoveAll(p => which(p.Key)) > 0);
    }

    private static void Rename(List<KeyValuePair<string, Tensor>> ts, Func<string, string> rename)
    {
        for (var i = 0; i < ts.Count; i++) ts[i] = KeyValuePair.Create(rename(ts[i].Key), ts[i].Value);
    }

    /// <summary>A float32 copy of <paramref name="t"/> with its first elements set to <paramref name="values"/>.</summary>
    private static Tensor WithValues(Tensor t, params float[] values)
    {
        var data = t.ToArray<float>();
        values.CopyTo(data, 0);
        return Tensor.FromArray(data, t.Shape);
    }
}
