using LoraGrains.Diffusion.Lora;

namespace LoraGrains.Diffusion.Tests.Lora;

/// <summary>A module without alpha gets alpha = rank (scale 1), as kohya's and diffusers' loaders read it.</summary>
public sealed class LoraAlphaTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lg-lora-alpha-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void Diffusers_file_without_alpha_has_alpha_equal_to_rank()
    {
        using var adapter = SdTinyLora.Load(SdTinyLora.File("lora_d_diffusers"));
        Assert.All(adapter.Modules, m =>
        {
            Assert.Null(m.AlphaKey);
            Assert.Equal(m.Rank, m.Alpha);
            Assert.Equal(1.0, m.Scale);
        });
    }

    [Fact]
    public void Kohya_file_rewritten_without_alpha_has_alpha_equal_to_rank()
    {
        var path = SdTinyLora.Rewrite("lora_b_locon_kohya", Path.Combine(dir, "no_alpha.safetensors"), tensors =>
        {
            foreach (var (_, t) in tensors.Where(p => p.Key.EndsWith(".alpha", StringComparison.Ordinal))) t.Dispose();
            tensors.RemoveAll(p => p.Key.EndsWith(".alpha", StringComparison.Ordinal));
        });

        using var original = SdTinyLora.Load(SdTinyLora.File("lora_b_locon_kohya"));
        using var adapter = SdTinyLora.Load(path);
        Assert.Equal(LoraFormat.Kohya, adapter.Format);
        Assert.Equal(141, adapter.Modules.Count);
        Assert.Empty(adapter.Report.UnmatchedKeys);
        foreach (var (o, m) in original.Modules.Zip(adapter.Modules))
        {
            Assert.Null(m.AlphaKey);
            Assert.Equal(m.Rank, m.Alpha);
            Assert.Equal(1.0, m.Scale);
            Assert.NotEqual(1.0, o.Scale);
            Assert.True(o.Down.ContentEquals(m.Down), m.Path);
        }
    }

    [Fact]
    public void Peft_file_with_alpha_tensors_uses_them()
    {
        const string module = "unet.mid_block.attentions.0.transformer_blocks.0.attn2.to_k";
        var path = SdTinyLora.Rewrite("lora_e_peft", Path.Combine(dir, "peft_alpha.safetensors"),
            tensors => tensors.Add(KeyValuePair.Create(module + ".alpha", Torch.Torch.Scalar(2.0))));

        using var adapter = SdTinyLora.Load(path);
        Assert.Equal(LoraFormat.Peft, adapter.Format);
        Assert.Empty(adapter.Report.UnmatchedKeys);
        var m = Assert.Single(adapter.Modules, m => m.AlphaKey is not null);
        Assert.Equal((module, 2.0, 0.5), (m.Target.QualifiedName, m.Alpha, m.Scale));
    }

    [Fact]
    public void Alpha_of_only_some_modules_applies_to_those_only()
    {
        const string kept = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.alpha";
        var path = SdTinyLora.Rewrite("lora_a_kohya", Path.Combine(dir, "some_alpha.safetensors"), tensors =>
        {
            foreach (var (_, t) in tensors.Where(p => p.Key.EndsWith(".alpha", StringComparison.Ordinal) && p.Key != kept)) t.Dispose();
            tensors.RemoveAll(p => p.Key.EndsWith(".alpha", StringComparison.Ordinal) && p.Key != kept);
        });

        using var adapter = SdTinyLora.Load(path);
        var withAlpha = Assert.Single(adapter.Modules, m => m.AlphaKey is not null);
        Assert.Equal((2.0, 0.5), (withAlpha.Alpha, withAlpha.Scale));
        Assert.All(adapter.Modules.Where(m => m.AlphaKey is null), m => Assert.Equal(1.0, m.Scale));
    }
}
