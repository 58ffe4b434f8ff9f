using LoraGrains.Diffusion.Models;
using LoraGrains.Diffusion.Models.UNet;
using LoraGrains.Torch;
using Xunit.Abstractions;

namespace LoraGrains.Diffusion.Tests.UNet;

/// <summary>The sd-tiny UNet against diffusers' outputs in refs/unet.safetensors.</summary>
public sealed class UNetReferenceTests(SdTinyUNet unet, ITestOutputHelper output) : IClassFixture<SdTinyUNet>
{
    [Theory]
    [InlineData("t981")]
    [InlineData("t1")]
    [InlineData("t473_25")]
    public void NoisePrediction_MatchesDiffusers(string step)
    {
        using var scope = TensorScope.Enter();
        var refs = unet.References;
        var timestep = refs.Load($"unet.{step}.timestep");
        var noise = unet.Model.Forward(refs.Load("unet.in.latents"), timestep, refs.Load("unet.in.encoder_hidden_states"));
        var expected = refs.Load($"unet.{step}.noise_pred");
        var err = TensorAssert.RelativeL2(noise, expected);
        output.WriteLine($"{step} (timestep {timestep.DType} {timestep.Item()}): relative L2 {err:E3}, max |diff| {TensorAssert.MaxAbsDiff(noise, expected):E3}");
        Assert.True(err <= 1e-4, $"{step}: relative L2 error {err:E3} exceeds 1e-4");
    }

    [Fact]
    public void IntermediateActivations_MatchDiffusers_AtT981()
    {
        using var scope = TensorScope.Enter();
        var refs = unet.References;
        // Row 1 (cond) of each observed output, copied out: the model frees its tensors after the pass.
        var captured = new Dictionary<string, (float[] Data, long[] Shape)>();
        unet.Model.Forward(refs.Load("unet.in.latents"), refs.Load("unet.t981.timestep"), refs.Load("unet.in.encoder_hidden_states"),
            (name, t) =>
            {
                var row = t.Narrow(0, 1, 1);
                captured[name] = (row.ToArray<float>(), row.Shape);
            });

        string[] names = ["time_proj", "time_embedding", "conv_in", "down_blocks.0", "down_blocks.1", "mid_block", "up_blocks.0", "up_blocks.1"];
        Assert.Equal(names.Order(), captured.Keys.Order());
        foreach (var name in names)
        {
            var (data, shape) = captured[name];
            var actual = Tensor.FromArray(data, shape);
            var err = TensorAssert.RelativeL2(actual, refs.Load($"unet.t981.act.{name}"));
            output.WriteLine($"{name}: relative L2 {err:E3}");
            Assert.True(err <= 1e-4, $"{name}: relative L2 error {err:E3} exceeds 1e-4");
        }
    }

    [Fact]
    public void Load_UsesEveryWeight_AndExposesEveryLinearAndConv()
    {
        Assert.Empty(unet.Model.UnusedKeys);
        Assert.Empty(unet.StateDict.Unused);
        // Every Linear/Conv2d weight (2-D or 4-D) belongs to exactly one adaptable layer, named by its module path.
        var expected = unet.Weights.Entries.Values
            .Where(e => e.Name.EndsWith(".weight", StringComparison.Ordinal) && e.Shape.Length >= 2)
            .Select(e => e.Name[..^".weight".Length])
            .Order(StringComparer.Ordinal);
        Assert.Equal(expected, unet.Model.AdaptableLayers.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, layer) in unet.Model.AdaptableLayers) Assert.Equal(name, layer.Name);
        Assert.Contains("down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q", unet.Model.AdaptableLayers.Keys);
        Assert.Contains("down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0", unet.Model.AdaptableLayers.Keys);
        Assert.Contains("mid_block.attentions.0.transformer_blocks.0.ff.net.0.proj", unet.Model.AdaptableLayers.Keys);
    }

    [Fact]
    public void Forward_AcceptsOneDimensionalTimesteps_AndFreesItsIntermediates()
    {
        using var scope = TensorScope.Enter();
        var refs = unet.References;
        var latents = refs.Load("unet.in.latents");
        var context = refs.Load("unet.in.encoder_hidden_states");
        var expected = refs.Load("unet.t981.noise_pred");
        var before = scope.Count;
        // [B] int64 timesteps, as a scheduler passes them per row.
        var steps = Tensor.FromArray(new long[] { 981, 981 }, 2);
        var noise = unet.Model.Forward(latents, steps, context);
        // Only the result (and the timestep tensor made here) reach the caller's scope.
        Assert.Equal(before + 2, scope.Count);
        Assert.True(TensorAssert.RelativeL2(noise, expected) <= 1e-4);
    }

    [Fact]
    public void LinearProjection_WithTheSameWeights_MatchesConvProjection()
    {
        // SD 2.x's proj_in/proj_out are Linear; a 1×1 conv is the same map, so viewing the fixture's [C, C, 1, 1]
        // kernels as [C, C] matrices must reproduce the reference.
        var weights = new StateDict("unet");
        foreach (var (name, entry) in unet.Weights.Entries)
        {
            var isProjection = name.EndsWith(".proj_in.weight", StringComparison.Ordinal) || name.EndsWith(".proj_out.weight", StringComparison.Ordinal);
            weights.Add(name, unet.Weights, entry, isProjection ? [entry.Shape[0], entry.Shape[1]] : null);
        }

        using var model = UNet2DConditionModel.Load(new ModelContext(weights, Device.Cpu, DType.Float32), unet.Config with { UseLinearProjection = true });
        Assert.Empty(model.UnusedKeys);
        Assert.IsType<LoraGrains.Diffusion.Models.Layers.Linear>(model.AdaptableLayers["mid_block.attentions.0.proj_in"]);
        using var scope = TensorScope.Enter();
        var refs = unet.References;
        var noise = model.Forward(refs.Load("unet.in.latents"), refs.Load("unet.t981.timestep"), refs.Load("unet.in.encoder_hidden_states"));
        var err = TensorAssert.RelativeL2(noise, refs.Load("unet.t981.noise_pred"));
        output.WriteLine($"linear projection, t981: relative L2 {err:E3}");
        Assert.True(err <= 1e-4, $"relative L2 error {err:E3} exceeds 1e-4");
    }

    [Fact]
    public void Forward_LatentSizeNotAMultipleOfTheUpsampling_UpsamplesToTheSkipSizes()
    {
        using var scope = TensorScope.Enter();
        var latents = unet.References.Load("unet.in.latents").Slice(2, 0, 31).Slice(3, 0, 29);
        var noise = unet.Model.Forward(latents, Torch.Torch.Scalar(500.5), unet.References.Load("unet.in.encoder_hidden_states"));
        Assert.Equal([2L, 4, 31, 29], noise.Shape);
    }
}
