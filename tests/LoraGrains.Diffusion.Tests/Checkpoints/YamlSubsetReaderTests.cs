using LoraGrains.Diffusion.Checkpoints;
using LoraGrains.Diffusion.Models;

namespace LoraGrains.Diffusion.Tests.Checkpoints;

public sealed class YamlSubsetReaderTests
{
    // CompVis stable-diffusion configs/stable-diffusion/v1-inference.yaml, as shipped beside SD 1.x checkpoints.
    private const string V1Inference = """
        model:
          base_learning_rate: 1.0e-04
          target: ldm.models.diffusion.ddpm.LatentDiffusion
          params:
            linear_start: 0.00085
            linear_end: 0.0120
            num_timesteps_cond: 1
            log_every_t: 200
            timesteps: 1000
            first_stage_key: "jpg"
            cond_stage_key: "txt"
            image_size: 64
            channels: 4
            cond_stage_trainable: false   # Note: different from the one we trained before
            conditioning_key: crossattn
            monitor: val/loss_simple_ema
            scale_factor: 0.18215
            use_ema: False

            scheduler_config: # 10000 warmup steps
              target: ldm.lr_scheduler.LambdaLinearScheduler
              params:
                warm_up_steps: [ 10000 ]
                cycle_lengths: [ 10000000000000 ] # incredibly large number to prevent corner cases
                f_start: [ 1.e-6 ]
                f_max: [ 1. ]
                f_min: [ 1. ]

            unet_config:
              target: ldm.modules.diffusionmodules.openaimodel.UNetModel
              params:
                image_size: 32 # unused
                in_channels: 4
                out_channels: 4
                model_channels: 320
                attention_resolutions: [ 4, 2, 1 ]
                num_res_blocks: 2
                channel_mult: [ 1, 2, 4, 4 ]
                num_heads: 8
                use_spatial_transformer: True
                transformer_depth: 1
                context_dim: 768
                use_checkpoint: True
                legacy: False

            first_stage_config:
              target: ldm.models.autoencoder.AutoencoderKL
              params:
                embed_dim: 4
                monitor: val/rec_loss
                ddconfig:
                  double_z: true
                  z_channels: 4
                  resolution: 256
                  in_channels: 3
                  out_ch: 3
                  ch: 128
                  ch_mult:
                  - 1
                  - 2
                  - 4
                  - 4
                  num_res_blocks: 2
                  attn_resolutions: []
                  dropout: 0.0
                lossconfig:
                  target: torch.nn.Identity

            cond_stage_config:
              target: ldm.modules.encoders.modules.FrozenCLIPEmbedder
        """;

    [Fact]
    public void V1Inference_ParsesToTheSd15Architecture()
    {
        var root = YamlSubsetReader.Parse(V1Inference, "v1-inference.yaml")!.AsObject();
        var p = new ConfigSection(root, "v1-inference.yaml", "").Section("model.params")!;

        Assert.Equal(1e-6, root["model"]!["params"]!["scheduler_config"]!["params"]!["f_start"]![0]!.GetValue<double>());
        Assert.Equal(10000000000000L, root["model"]!["params"]!["scheduler_config"]!["params"]!["cycle_lengths"]![0]!.GetValue<long>());
        Assert.Equal("jpg", p.String("first_stage_key"));
        Assert.False(p.Bool("use_ema", true));

        var unet = UNetArchitecture.FromLdmConfig(p.Section("unet_config.params")!, p.Int("image_size"));
        var config = unet.ToDiffusersConfig();
        Assert.Equal("[320,640,1280,1280]", config["block_out_channels"]!.ToJsonString());
        Assert.Equal("[\"CrossAttnDownBlock2D\",\"CrossAttnDownBlock2D\",\"CrossAttnDownBlock2D\",\"DownBlock2D\"]", config["down_block_types"]!.ToJsonString());
        Assert.Equal("[\"UpBlock2D\",\"CrossAttnUpBlock2D\",\"CrossAttnUpBlock2D\",\"CrossAttnUpBlock2D\"]", config["up_block_types"]!.ToJsonString());
        Assert.Equal(8, config["attention_head_dim"]!.GetValue<int>());
        Assert.Equal(768, config["cross_attention_dim"]!.GetValue<int>());
        Assert.Equal(64, config["sample_size"]!.GetValue<int>());
        Assert.Equal(686, UNetKeyMap.Create(unet).Count);

        var vae = VaeArchitecture.FromLdmConfig(p.Section("first_stage_config.params")!, p.Double("scale_factor", 0), 512);
        Assert.Equal("[128,256,512,512]", vae.ToDiffusersConfig()["block_out_channels"]!.ToJsonString());
        Assert.Equal(248, VaeKeyMap.Create(vae).Count);
    }

    [Fact]
    public void FixtureYaml_MultiLinePlainScalarIsFolded()
    {
        var root = YamlSubsetReader.Load(Fixtures.Path("sd-tiny-ldm.yaml"))!;
        var note = root["model"]!["params"]!["cond_stage_config"]!["params"]!["note"]!.GetValue<string>();
        Assert.Equal("tiny CLIP text model; its architecture is in the diffusers text_encoder/config.json of the same fixture", note);
        Assert.Equal("[1]", root["model"]!["params"]!["unet_config"]!["params"]!["attention_resolutions"]!.ToJsonString());
        Assert.Equal("[]", root["model"]!["params"]!["first_stage_config"]!["params"]!["ddconfig"]!["attn_resolutions"]!.ToJsonString());
    }

    [Fact]
    public void SequencesOfMaps_FlowMaps_AndQuotes()
    {
        const string Text = """
            ---
            emb_models:
              - is_trainable: False
                input_key: txt
                params: {layer: hidden, layer_idx: 11, 'quoted key': [1, [2, 3]]}
              - input_key: 'it''s'
            list:
            - "a # not a comment"
            - ~
            - -3
            - .5
            - 1e3
            - http://x.y/z
            """;
        var root = YamlSubsetReader.Parse(Text, "t.yaml")!;

        Assert.False(root["emb_models"]![0]!["is_trainable"]!.GetValue<bool>());
        Assert.Equal(11L, root["emb_models"]![0]!["params"]!["layer_idx"]!.GetValue<long>());
        Assert.Equal("[1,[2,3]]", root["emb_models"]![0]!["params"]!["quoted key"]!.ToJsonString());
        Assert.Equal("it's", root["emb_models"]![1]!["input_key"]!.GetValue<string>());
        var list = root["list"]!.AsArray();
        Assert.Equal("a # not a comment", list[0]!.GetValue<string>());
        Assert.Null(list[1]);
        Assert.Equal(-3L, list[2]!.GetValue<long>());
        Assert.Equal(0.5, list[3]!.GetValue<double>());
        Assert.Equal(1000.0, list[4]!.GetValue<double>());
        Assert.Equal("http://x.y/z", list[5]!.GetValue<string>());
    }

    [Theory]
    [InlineData("a: &anchor 1\n", "anchors and aliases")]
    [InlineData("a: |\n  text\n", "block scalars")]
    [InlineData("a: 1\na: 2\n", "duplicate key 'a'")]
    [InlineData("a:\n    b: 1\n  c: 2\n", "indentation")]
    [InlineData("a: 1\n---\nb: 2\n", "multiple YAML documents")]
    [InlineData("a: !!str 1\n", "tags")]
    [InlineData("a: [1, 2\n", "flow")]
    [InlineData("a: \"open\n", "unterminated")]
    [InlineData("just a scalar\n", "expected 'key: value'")]
    public void UnsupportedOrMalformedYaml_FailsClearly(string text, string expected)
    {
        var e = Assert.Throws<ModelLoadException>(() => YamlSubsetReader.Parse(text, "bad.yaml"));
        Assert.Contains("bad.yaml:", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TabIndentation_FailsClearly()
    {
        var e = Assert.Throws<ModelLoadException>(() => YamlSubsetReader.Parse("a:\n\tb: 1\n", "bad.yaml"));
        Assert.Contains("tabs", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WrongValueTypes_NameThePath()
    {
        var root = YamlSubsetReader.Parse("model:\n  params:\n    unet_config:\n      params:\n        channel_mult: four\n", "x.yaml")!.AsObject();
        var p = new ConfigSection(root, "x.yaml", "").Section("model.params.unet_config.params")!;
        var e = Assert.Throws<ModelLoadException>(() => p.IntList("channel_mult"));
        Assert.Equal("x.yaml: model.params.unet_config.params.channel_mult must be a list of integers, found \"four\"", e.Message);
    }
}
