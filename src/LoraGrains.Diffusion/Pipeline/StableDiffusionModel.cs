using LoraGrains.Diffusion.Checkpoints;
using LoraGrains.Diffusion.Lora;
using LoraGrains.Diffusion.Models;
using LoraGrains.Diffusion.Models.Layers;
using LoraGrains.Diffusion.Models.TextEncoder;
using LoraGrains.Diffusion.Models.UNet;
using LoraGrains.Diffusion.Models.Vae;
using LoraGrains.Diffusion.Schedulers;
using LoraGrains.Diffusion.Text;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Pipeline;

/// <summary>
/// A loaded Stable Diffusion 1.x model: tokenizer, text encoder, UNet and VAE on one device, the scheduler
/// config it ships with, and the LoRA adapters attached to it.
/// </summary>
public sealed class StableDiffusionModel : IDisposable
{
    private readonly Lazy<string> modelHash;

    private StableDiffusionModel(string name, string hashedFile, ClipTokenizer tokenizer, ClipTextModel textEncoder, UNet2DConditionModel unet,
        AutoencoderKL vae, SchedulerConfig schedulerConfig, CheckpointReport report, Device device, DType dtype)
    {
        Name = name;
        Tokenizer = tokenizer;
        TextEncoder = textEncoder;
        UNet = unet;
        Vae = vae;
        SchedulerConfig = schedulerConfig;
        Report = report;
        Device = device;
        DType = dtype;
        modelHash = new Lazy<string>(() => Checkpoints.ModelHash.Short(Checkpoints.ModelHash.Sha256(hashedFile)));
        Adapters = new AdapterSet(new Dictionary<string, IAdaptableModel>
        {
            [LoraComponent.Unet] = unet,
            [LoraComponent.TextEncoder] = textEncoder,
        });
        Targets = [.. LoraTargetModule.FromModel(LoraComponent.Unet, unet), .. LoraTargetModule.FromModel(LoraComponent.TextEncoder, textEncoder)];
    }

    /// <summary>Display name (the checkpoint's file or folder name).</summary>
    public string Name { get; }

    /// <summary>The CLIP tokenizer.</summary>
    public ClipTokenizer Tokenizer { get; }

    /// <summary>The CLIP text encoder.</summary>
    public ClipTextModel TextEncoder { get; }

    /// <summary>The denoising UNet.</summary>
    public UNet2DConditionModel UNet { get; }

    /// <summary>The VAE.</summary>
    public AutoencoderKL Vae { get; }

    /// <summary>The scheduler configuration the model ships with (SD 1.5's PNDM config for single files).</summary>
    public SchedulerConfig SchedulerConfig { get; }

    /// <summary>What loading found: unmatched, missing and skipped keys.</summary>
    public CheckpointReport Report { get; }

    /// <summary>Device of the weights.</summary>
    public Device Device { get; }

    /// <summary>Compute dtype.</summary>
    public DType DType { get; }

    /// <summary>A1111's short model hash (first 10 hex digits of the SHA-256), computed on first use.</summary>
    public string ModelHash => modelHash.Value;

    /// <summary>Adapters attached to the UNet and text encoder.</summary>
    public AdapterSet Adapters { get; }

    /// <summary>Every layer an adapter may target, for <see cref="LoraAdapter.Load"/>.</summary>
    public IReadOnlyList<LoraTargetModule> Targets { get; }

    /// <summary>Loads a diffusers folder or a single-file (LDM) checkpoint.</summary>
    /// <exception cref="ModelLoadException">A component, file or tensor is missing or malformed.</exception>
    public static StableDiffusionModel Load(string path, ModelLoadOptions? options = null)
    {
        options ??= new ModelLoadOptions();
        using var checkpoint = StableDiffusionCheckpoint.Open(path, options.YamlPath);
        var tokenizerPath = options.TokenizerPath ?? checkpoint.TokenizerPath
            ?? throw new ModelLoadException($"{path}: a single-file checkpoint carries no tokenizer; pass a CLIP tokenizer folder (vocab.json + merges.txt)");
        var tokenizer = ClipTokenizer.FromDirectory(tokenizerPath);
        var dtype = options.EffectiveDType;

        ClipTextModel? te = null;
        UNet2DConditionModel? unet = null;
        try
        {
            te = ClipTextModel.Load(new ModelContext(checkpoint.TextEncoder.Weights, options.Device, dtype),
                ClipTextConfig.FromJson(checkpoint.TextEncoder.Config.ToJsonString(), checkpoint.TextEncoder.WeightsPath));
            unet = UNet2DConditionModel.Load(new ModelContext(checkpoint.UNet.Weights, options.Device, dtype),
                UNetConfig.Parse(checkpoint.UNet.Config.ToJsonString()));
            var vae = AutoencoderKL.Load(new ModelContext(checkpoint.Vae.Weights, options.Device, dtype),
                VaeConfig.FromJson(checkpoint.Vae.Config.ToJsonString(), checkpoint.Vae.WeightsPath));
            var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(checkpoint.SourcePath));
            return new StableDiffusionModel(name, checkpoint.HashedFilePath, tokenizer, te, unet, vae,
                SchedulerConfig.Parse(checkpoint.SchedulerConfig.ToJsonString()), checkpoint.Report, options.Device, dtype);
        }
        catch
        {
            te?.Dispose();
            unet?.Dispose();
            throw;
        }
    }

    /// <summary>Frees every weight (attached adapters are detached; their owner disposes them).</summary>
    public void Dispose()
    {
        Adapters.Dispose();
        TextEncoder.Dispose();
        UNet.Dispose();
        Vae.Dispose();
    }
}
