using LoraGrains.Diffusion.Models;
using LoraGrains.Diffusion.Models.TextEncoder;
using LoraGrains.Torch;
using LoraGrains.Torch.Safetensors;
using Xunit.Abstractions;

namespace LoraGrains.Diffusion.Tests.Models;

/// <summary>The sd-tiny text encoder, loaded once for the test class.</summary>
public sealed class ClipTextModelFixture : IDisposable
{
    private readonly SafetensorsFile file;

    /// <summary>Loads text_encoder/ on the CPU in float32.</summary>
    public ClipTextModelFixture()
    {
        file = SafetensorsFile.Open(Fixtures.Path("text_encoder", "model.safetensors"));
        var sd = StateDict.FromFile("text_encoder", file);
        Model = ClipTextModel.Load(new ModelContext(sd, Device.Cpu, DType.Float32), ClipTextConfig.FromFile(Fixtures.Path("text_encoder", "config.json")));
        Refs = SafetensorsFile.Open(Fixtures.Path("refs", "text_encoder.safetensors"));
    }

    /// <summary>The model.</summary>
    public ClipTextModel Model { get; }

    /// <summary>refs/text_encoder.safetensors.</summary>
    public SafetensorsFile Refs { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        Model.Dispose();
        Refs.Dispose();
        file.Dispose();
    }
}

public sealed class ClipTextModelTests(ClipTextModelFixture fixture, ITestOutputHelper output) : IClassFixture<ClipTextModelFixture>
{
    private const double Tolerance = 1e-4;

    [Fact]
    public void Config_is_parsed_from_the_fixture()
    {
        var c = fixture.Model.Config;
        Assert.Equal(32, c.HiddenSize);
        Assert.Equal(37, c.IntermediateSize);
        Assert.Equal(4, c.NumHiddenLayers);
        Assert.Equal(4, c.NumAttentionHeads);
        Assert.Equal(77, c.MaxPositionEmbeddings);
        Assert.Equal(49408, c.VocabSize);
        Assert.Equal(ClipActivation.QuickGelu, c.HiddenAct);
        Assert.Equal(1e-5, c.LayerNormEps);
        Assert.Equal((0, 2, 1), (c.BosTokenId, c.EosTokenId, c.PadTokenId));
    }

    [Fact]
    public void Every_weight_is_used()
    {
        Assert.Empty(fixture.Model.UnusedKeys);
    }

    [Fact]
    public void Adaptable_layers_use_transformers_module_paths()
    {
        var layers = fixture.Model.AdaptableLayers;
        Assert.Equal(4 * 6, layers.Count);
        foreach (var proj in new[] { "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj", "mlp.fc1", "mlp.fc2" })
        {
            for (var i = 0; i < 4; i++)
            {
                var name = $"text_model.encoder.layers.{i}.{proj}";
                Assert.True(layers.TryGetValue(name, out var layer), name);
                Assert.Equal(name, layer.Name);
            }
        }
    }

    [Theory]
    [InlineData("p0")]
    [InlineData("p1")]
    [InlineData("p2")]
    public void Forward_matches_transformers(string prompt)
    {
        using var scope = TensorScope.Enter();
        var ids = fixture.Refs.Load($"te.{prompt}.input_ids");
        using var result = fixture.Model.Forward(ids);
        Check(result.LastHiddenState, $"te.{prompt}.last_hidden_state");
        Check(result.PenultimateHiddenState, $"te.{prompt}.hidden_states_penultimate");
        Check(result.PooledOutput, $"te.{prompt}.pooler_output");
    }

    [Theory]
    [InlineData("p0")]
    [InlineData("p1")]
    [InlineData("p2")]
    public void Encode_matches_diffusers_encode_prompt(string prompt)
    {
        using var scope = TensorScope.Enter();
        var ids = fixture.Refs.Load($"te.{prompt}.input_ids");
        Check(fixture.Model.Encode(ids), $"te.{prompt}.last_hidden_state");
        Check(fixture.Model.Encode(ids, clipSkip: 1), $"te.{prompt}.encode_prompt_clip_skip1");
    }

    [Fact]
    public void Batched_prompts_match_single_prompts()
    {
        using var scope = TensorScope.Enter();
        var ids = Torch.Torch.Cat([fixture.Refs.Load("te.p0.input_ids"), fixture.Refs.Load("te.p2.input_ids")]);
        using var result = fixture.Model.Forward(ids);
        Check(result.LastHiddenState.Select(0, 1).Unsqueeze(0), "te.p2.last_hidden_state");
        Check(result.PooledOutput.Select(0, 0).Unsqueeze(0), "te.p0.pooler_output");
        Check(result.PooledOutput.Select(0, 1).Unsqueeze(0), "te.p2.pooler_output");
    }

    [Fact]
    public void Modern_eos_id_pools_at_the_first_end_of_text_token()
    {
        // With eos_token_id 49407 transformers pools at the first 49407, which for these padded prompts is
        // also argmax(input_ids): the legacy and modern rules must agree here.
        using var file = SafetensorsFile.Open(Fixtures.Path("text_encoder", "model.safetensors"));
        var config = fixture.Model.Config with { EosTokenId = 49407 };
        using var model = ClipTextModel.Load(new ModelContext(StateDict.FromFile("text_encoder", file), Device.Cpu, DType.Float32), config);
        using var scope = TensorScope.Enter();
        var ids = fixture.Refs.Load("te.p1.input_ids");
        using var result = model.Forward(ids);
        Check(result.PooledOutput, "te.p1.pooler_output");

        // Hand-made ids whose first 49407 is at position 2, followed by more 49407s.
        var custom = Tensor.FromArray<long>([49406, 320, 49407, 49407, 7], 1, 5);
        var hidden = model.Encode(custom);
        Assert.True(model.Pool(hidden, custom).ContentEquals(hidden.Select(1, 2)));
    }

    [Fact]
    public void Invalid_inputs_are_rejected()
    {
        using var scope = TensorScope.Enter();
        var ids = fixture.Refs.Load("te.p0.input_ids");
        Assert.Throws<ArgumentOutOfRangeException>(() => fixture.Model.Encode(ids, clipSkip: 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => fixture.Model.Encode(ids, clipSkip: -1));
        Assert.Throws<ArgumentException>(() => fixture.Model.Encode(ids.Reshape(-1)));
        Assert.Throws<ArgumentException>(() => fixture.Model.Encode(ids.To(DType.Float32)));
        Assert.Throws<ArgumentException>(() => fixture.Model.Encode(Torch.Torch.Full([1, 78], 5, DType.Int64)));
        var e = Assert.Throws<ArgumentException>(() => fixture.Model.Encode(Torch.Torch.Full([1, 3], 49408, DType.Int64)));
        Assert.Contains("49408", e.Message);
    }

    [Fact]
    public void Forward_frees_its_intermediates()
    {
        using var scope = TensorScope.Enter();
        var ids = fixture.Refs.Load("te.p1.input_ids");
        var before = scope.Count;
        using (fixture.Model.Forward(ids))
        {
            // Only the three outputs were added to the caller's scope.
            Assert.Equal(before + 3, scope.Count);
        }

        var encoded = fixture.Model.Encode(ids, clipSkip: 2);
        Assert.Equal(before + 1, scope.Count);
        encoded.Dispose();
    }

    private void Check(Tensor actual, string reference)
    {
        using var expected = fixture.Refs.Load(reference);
        var err = TensorAssert.RelativeL2(actual, expected);
        output.WriteLine($"{reference}: relative L2 {err:E3}, max |Δ| {TensorAssert.MaxAbsDiff(actual, expected):E3}");
        Assert.True(err <= Tolerance, $"{reference}: relative L2 error {err:E3} exceeds {Tolerance:E1}");
    }
}
