using LoraGrains.Diffusion.Lora;
using LoraGrains.Torch;
using LoraGrains.Torch.Safetensors;

namespace LoraGrains.Diffusion.Tests.Pipeline;

/// <summary>
/// Each LoRA file alone, applied unmerged at λ = 0.8, against diffusers + PEFT (refs/lora_single.safetensors):
/// the UNet noise prediction at t=981 and the text-encoder states of prompt 0.
/// </summary>
public sealed class SingleAdapterReferenceTests(SdTinyModel tiny) : IClassFixture<SdTinyModel>
{
    public static TheoryData<string> Files() => ["lora_a_kohya", "lora_b_locon_kohya", "lora_c_kohya", "lora_d_diffusers", "lora_e_peft"];

    [Theory]
    [MemberData(nameof(Files))]
    public void Unet_noise_prediction_matches(string name)
    {
        var model = tiny.Model;
        using var adapter = LoraAdapter.Load(Fixtures.Path("loras", name + ".safetensors"), model.Targets, model.Device, model.DType);
        model.Adapters.Attach(name, adapter);
        try
        {
            using var refs = SafetensorsFile.Open(Fixtures.Path("refs", "lora_single.safetensors"));
            using var inputs = SafetensorsFile.Open(Fixtures.Path("refs", "unet.safetensors"));
            using var scope = TensorScope.Enter();
            using var activation = AdapterActivation.Uniform([name], [0.8]);
            model.Adapters.Activate(LoraComponent.Unet, activation);
            var noise = model.UNet.Forward(inputs.Load("unet.in.latents"), inputs.Load("unet.t981.timestep"), inputs.Load("unet.in.encoder_hidden_states"));
            model.Adapters.Deactivate(LoraComponent.Unet);
            TensorAssert.Close(noise, refs.Load($"lora.{name}.unet_noise_pred_t981"), 1e-4, $"{name} UNet");

            // Without the adapter the model is back to the base prediction.
            var baseNoise = model.UNet.Forward(inputs.Load("unet.in.latents"), inputs.Load("unet.t981.timestep"), inputs.Load("unet.in.encoder_hidden_states"));
            TensorAssert.Close(baseNoise, inputs.Load("unet.t981.noise_pred"), 1e-4, "base UNet after deactivation");
        }
        finally
        {
            model.Adapters.Detach(name);
        }
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Text_encoder_states_match(string name)
    {
        using var refs = SafetensorsFile.Open(Fixtures.Path("refs", "lora_single.safetensors"));
        var key = $"lora.{name}.te_last_hidden_state_p0";
        if (!refs.Contains(key)) return; // lora_c has no text-encoder part (asserted below)
        var model = tiny.Model;
        using var adapter = LoraAdapter.Load(Fixtures.Path("loras", name + ".safetensors"), model.Targets, model.Device, model.DType);
        Assert.Contains(adapter.Modules, m => m.Component == LoraComponent.TextEncoder);
        model.Adapters.Attach(name, adapter);
        try
        {
            using var te = SafetensorsFile.Open(Fixtures.Path("refs", "text_encoder.safetensors"));
            using var scope = TensorScope.Enter();
            using var activation = AdapterActivation.Uniform([name], [0.8]);
            model.Adapters.Activate(LoraComponent.TextEncoder, activation);
            var states = model.TextEncoder.Encode(te.Load("te.p0.input_ids"));
            model.Adapters.Deactivate(LoraComponent.TextEncoder);
            TensorAssert.Close(states, refs.Load(key), 1e-4, $"{name} text encoder");
        }
        finally
        {
            model.Adapters.Detach(name);
        }
    }

    [Fact]
    public void Adapter_without_text_encoder_part_has_no_reference()
    {
        using var refs = SafetensorsFile.Open(Fixtures.Path("refs", "lora_single.safetensors"));
        Assert.False(refs.Contains("lora.lora_c_kohya.te_last_hidden_state_p0"));
    }

    [Fact]
    public void A_rejected_adapter_leaves_the_model_as_it_was()
    {
        var model = tiny.Model;
        var dir = Directory.CreateTempSubdirectory("lg-bad-lora-").FullName;
        try
        {
            // lora_a with one up matrix replaced by NaN: refused, nothing attached.
            var path = Path.Combine(dir, "nan.safetensors");
            using (var src = SafetensorsFile.Open(Fixtures.Path("loras", "lora_a_kohya.safetensors")))
            using (var scope = TensorScope.Enter())
            {
                var tensors = src.Names.Select(n => new KeyValuePair<string, Tensor>(n, src.Load(n))).ToList();
                var i = tensors.FindIndex(kv => kv.Key.EndsWith("lora_up.weight", StringComparison.Ordinal));
                tensors[i] = new(tensors[i].Key, tensors[i].Value * double.NaN);
                SafetensorsWriter.Write(path, tensors, src.Metadata);
            }

            var e = Assert.Throws<LoraFormatException>(() => LoraAdapter.Load(path, model.Targets, model.Device, model.DType));
            Assert.Contains("NaN", e.Message, StringComparison.OrdinalIgnoreCase);
            Assert.Empty(model.Adapters.Ids);
            Assert.All(model.UNet.AdaptableLayers.Values, l => Assert.Empty(l.Adapters.AttachedIds));

            using var inputs = SafetensorsFile.Open(Fixtures.Path("refs", "unet.safetensors"));
            using var s2 = TensorScope.Enter();
            var noise = model.UNet.Forward(inputs.Load("unet.in.latents"), inputs.Load("unet.t981.timestep"), inputs.Load("unet.in.encoder_hidden_states"));
            TensorAssert.Close(noise, inputs.Load("unet.t981.noise_pred"), 1e-4, "base UNet");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
