using System.Text.Json;
using LoraGrains.Diffusion.Lora;
using LoraGrains.Torch;
using LoraGrains.Torch.Safetensors;

namespace LoraGrains.Diffusion.Tests.Lora;

/// <summary>The sd-tiny LoRA fixtures: the model's target modules, the LoRA files, diffusers' key map, and rewriting files.</summary>
internal static class SdTinyLora
{
    public static readonly string[] Names = ["lora_a_kohya", "lora_b_locon_kohya", "lora_c_kohya", "lora_d_diffusers", "lora_e_peft"];

    private static readonly Lazy<IReadOnlyList<LoraTargetModule>> LazyTargets = new(() =>
    {
        using var unet = SafetensorsFile.Open(WeightsPath(LoraComponent.Unet));
        using var te = SafetensorsFile.Open(WeightsPath(LoraComponent.TextEncoder));
        return [.. LoraTargetModule.FromWeights(LoraComponent.Unet, unet), .. LoraTargetModule.FromWeights(LoraComponent.TextEncoder, te)];
    });

    private static readonly Lazy<JsonDocument> LazyKeyMap = new(() => JsonDocument.Parse(System.IO.File.ReadAllText(Fixtures.Path("loras", "lora_key_map.json"))));

    /// <summary>Every UNet and text-encoder Linear/Conv2d of sd-tiny, from the diffusers weight files.</summary>
    public static IReadOnlyList<LoraTargetModule> Targets => LazyTargets.Value;

    /// <summary>The diffusers weight file of a component.</summary>
    public static string WeightsPath(string component) => component switch
    {
        LoraComponent.Unet => Fixtures.Path("unet", "diffusion_pytorch_model.safetensors"),
        LoraComponent.TextEncoder => Fixtures.Path("text_encoder", "model.safetensors"),
        _ => throw new ArgumentOutOfRangeException(nameof(component), component, null),
    };

    /// <summary>loras/&lt;name&gt;.safetensors.</summary>
    public static string File(string name) => Fixtures.Path("loras", name + ".safetensors");

    /// <summary><c>loras</c> of lora_key_map.json, entry <paramref name="name"/>.</summary>
    public static JsonElement KeyMap(string name) => LazyKeyMap.Value.RootElement.GetProperty("loras").GetProperty(name);

    /// <summary>Loads <paramref name="path"/> against sd-tiny on the CPU in float32.</summary>
    public static LoraAdapter Load(string path, LoraLoadOptions? options = null) =>
        LoraAdapter.Load(path, Targets, Device.Cpu, DType.Float32, options);

    /// <summary>Every tensor of <paramref name="path"/> (CPU, stored dtype) in file order, and its metadata.</summary>
    public static (List<KeyValuePair<string, Tensor>> Tensors, IReadOnlyDictionary<string, string> Metadata) ReadAll(string path)
    {
        using var f = SafetensorsFile.Open(path);
        return (f.Names.Select(n => KeyValuePair.Create(n, f.Load(n))).ToList(), new Dictionary<string, string>(f.Metadata));
    }

    /// <summary>
    /// Writes a copy of LoRA fixture <paramref name="name"/> to <paramref name="path"/> after <paramref name="edit"/>
    /// changed its tensor list (rename, replace, drop or add entries).
    /// </summary>
    public static string Rewrite(string name, string path, Action<List<KeyValuePair<string, Tensor>>> edit)
    {
        var (tensors, metadata) = ReadAll(File(name));
        try
        {
            edit(tensors);
            SafetensorsWriter.Write(path, tensors, metadata);
            return path;
        }
        finally
        {
            foreach (var (_, t) in tensors) t.Dispose();
        }
    }
}
