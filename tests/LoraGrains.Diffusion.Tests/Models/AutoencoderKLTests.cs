using LoraGrains.Diffusion.Imaging;
using LoraGrains.Diffusion.Models;
using LoraGrains.Diffusion.Models.Vae;
using LoraGrains.Torch;
using LoraGrains.Torch.Safetensors;
using Xunit.Abstractions;

namespace LoraGrains.Diffusion.Tests.Models;

/// <summary>The sd-tiny VAE, loaded once for the test class.</summary>
public sealed class AutoencoderKLFixture : IDisposable
{
    private readonly SafetensorsFile file;

    /// <summary>Loads vae/ on the CPU in float32.</summary>
    public AutoencoderKLFixture()
    {
        file = SafetensorsFile.Open(Fixtures.Path("vae", "diffusion_pytorch_model.safetensors"));
        var sd = StateDict.FromFile("vae", file);
        Model = AutoencoderKL.Load(new ModelContext(sd, Device.Cpu, DType.Float32), VaeConfig.FromFile(Fixtures.Path("vae", "config.json")));
        Refs = SafetensorsFile.Open(Fixtures.Path("refs", "vae.safetensors"));
    }

    /// <summary>The model.</summary>
    public AutoencoderKL Model { get; }

    /// <summary>refs/vae.safetensors.</summary>
    public SafetensorsFile Refs { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        Model.Dispose();
        Refs.Dispose();
        file.Dispose();
    }
}

public sealed class AutoencoderKLTests(AutoencoderKLFixture fixture, ITestOutputHelper output) : IClassFixture<AutoencoderKLFixture>
{
    private const double Tolerance = 1e-4;

    [Fact]
    public void Config_is_parsed_from_the_fixture()
    {
        var c = fixture.Model.Config;
        Assert.Equal([32, 32, 32, 64], c.BlockOutChannels);
        Assert.Equal((3, 3, 4, 2, 32), (c.InChannels, c.OutChannels, c.LatentChannels, c.LayersPerBlock, c.NormNumGroups));
        Assert.Equal(0.18215, c.ScalingFactor);
        Assert.Equal(8, c.DownsampleFactor);
    }

    [Fact]
    public void Every_weight_is_used()
    {
        Assert.Empty(fixture.Model.UnusedKeys);
    }

    [Fact]
    public void Adaptable_layers_use_diffusers_module_paths()
    {
        var layers = fixture.Model.AdaptableLayers;
        string[] expected =
        [
            "encoder.conv_in", "encoder.down_blocks.0.resnets.0.conv1", "encoder.down_blocks.0.downsamplers.0.conv",
            "encoder.down_blocks.3.resnets.0.conv_shortcut", "encoder.mid_block.attentions.0.to_q", "encoder.mid_block.attentions.0.to_out.0",
            "encoder.conv_out", "quant_conv", "post_quant_conv", "decoder.conv_in", "decoder.mid_block.resnets.1.conv2",
            "decoder.up_blocks.0.resnets.2.conv1", "decoder.up_blocks.0.upsamplers.0.conv", "decoder.up_blocks.1.resnets.0.conv_shortcut",
            "decoder.conv_out",
        ];
        foreach (var name in expected)
        {
            Assert.True(layers.TryGetValue(name, out var layer), name);
            Assert.Equal(name, layer.Name);
        }

        // Every conv/linear weight of the file is one adaptable layer.
        using var file = SafetensorsFile.Open(Fixtures.Path("vae", "diffusion_pytorch_model.safetensors"));
        var weights = file.Entries.Values.Count(e => e.Name.EndsWith(".weight", StringComparison.Ordinal) && e.Shape.Length >= 2);
        Assert.Equal(weights, layers.Count);
    }

    [Fact]
    public void Decode_matches_diffusers()
    {
        using var scope = TensorScope.Enter();
        var sample = fixture.Model.Decode(fixture.Refs.Load("vae.decode.in.latents"));
        Check(sample, "vae.decode.out.sample");
    }

    [Fact]
    public void Encode_of_the_fixture_png_matches_diffusers()
    {
        using var scope = TensorScope.Enter();
        var image = PngDecoder.DecodeFile(Fixtures.Path("refs", "vae_encode_input.png"));
        using var dist = fixture.Model.Encode(image.ToTensor());
        Check(dist.Mean, "vae.encode.out.mean");
        Check(dist.LogVar, "vae.encode.out.logvar");
        Check(dist.Std, "vae.encode.out.std");
    }

    [Fact]
    public void Wrong_input_channels_are_rejected()
    {
        using var scope = TensorScope.Enter();
        Assert.Throws<ArgumentException>(() => fixture.Model.Decode(Torch.Torch.Zeros([1, 3, 8, 8])));
        Assert.Throws<ArgumentException>(() => fixture.Model.Encode(Torch.Torch.Zeros([1, 4, 16, 16])));
        Assert.Throws<ArgumentException>(() => fixture.Model.Encode(Torch.Torch.Zeros([3, 16, 16])));
    }

    [Fact]
    public void Decode_frees_its_intermediates()
    {
        using var scope = TensorScope.Enter();
        var z = Torch.Torch.Zeros([1, 4, 4, 4]);
        var before = scope.Count;
        var sample = fixture.Model.Decode(z);
        Assert.Equal([1, 3, 32, 32], sample.Shape);
        Assert.Equal(before + 1, scope.Count);
    }

    private void Check(Tensor actual, string reference)
    {
        using var expected = fixture.Refs.Load(reference);
        var err = TensorAssert.RelativeL2(actual, expected);
        output.WriteLine($"{reference}: relative L2 {err:E3}, max |Δ| {TensorAssert.MaxAbsDiff(actual, expected):E3}");
        Assert.True(err <= Tolerance, $"{reference}: relative L2 error {err:E3} exceeds {Tolerance:E1}");
    }
}
