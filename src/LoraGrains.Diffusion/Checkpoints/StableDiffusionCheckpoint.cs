using System.Text.Json.Nodes;
using LoraGrains.Diffusion.Models;

namespace LoraGrains.Diffusion.Checkpoints;

/// <summary>
/// The one entry point from files on disk to model inputs: a diffusers model folder or an LDM/CompVis
/// single .safetensors file, presented the same way — per component (<c>unet</c>, <c>vae</c>,
/// <c>text_encoder</c>) a <see cref="StateDict"/> under diffusers/transformers names plus its config.json
/// content, the tokenizer folder, the scheduler config and a report. Owns the memory-mapped files: the
/// state dicts are valid until this object is disposed.
/// </summary>
/// <remarks>
/// Single files carry no tokenizer (<see cref="TokenizerPath"/> is null): the caller supplies SD 1.x's CLIP
/// tokenizer (e.g. the <c>tokenizer/</c> folder of any SD 1.5 diffusers model); every SD 1.x checkpoint uses
/// the same vocabulary. Their scheduler config is SD-1.5's PNDM config with the yaml's schedule values.
/// </remarks>
public sealed class StableDiffusionCheckpoint : IDisposable
{
    private readonly IDisposable owner;
    private readonly Lazy<string> sha256;

    private StableDiffusionCheckpoint(IDisposable owner, string sourcePath, bool isSingleFile, CheckpointComponent unet, CheckpointComponent vae,
        CheckpointComponent textEncoder, string? tokenizerPath, JsonObject schedulerConfig, CheckpointReport report)
    {
        this.owner = owner;
        SourcePath = sourcePath;
        IsSingleFile = isSingleFile;
        UNet = unet;
        Vae = vae;
        TextEncoder = textEncoder;
        TokenizerPath = tokenizerPath;
        SchedulerConfig = schedulerConfig;
        Report = report;
        HashedFilePath = isSingleFile ? sourcePath : unet.WeightsPath;
        sha256 = new Lazy<string>(() => Checkpoints.ModelHash.Sha256(HashedFilePath));
    }

    /// <summary>The folder or file that was opened.</summary>
    public string SourcePath { get; }

    /// <summary>True for an LDM single file, false for a diffusers folder.</summary>
    public bool IsSingleFile { get; }

    /// <summary>The UNet: diffusers names, <c>UNet2DConditionModel</c> config.</summary>
    public CheckpointComponent UNet { get; }

    /// <summary>The VAE: diffusers names, <c>AutoencoderKL</c> config.</summary>
    public CheckpointComponent Vae { get; }

    /// <summary>The text encoder: transformers names (<c>text_model.*</c>), <c>CLIPTextConfig</c>-like config.</summary>
    public CheckpointComponent TextEncoder { get; }

    /// <summary>The three weighted components.</summary>
    public IReadOnlyList<CheckpointComponent> Components => [UNet, Vae, TextEncoder];

    /// <summary>The tokenizer folder of a diffusers model; null for single files (the caller supplies one).</summary>
    public string? TokenizerPath { get; }

    /// <summary>scheduler_config.json content (SD-1.5's PNDM config for single files).</summary>
    public JsonObject SchedulerConfig { get; }

    /// <summary>Unmatched, missing and skipped keys and notes on how the checkpoint was read.</summary>
    public CheckpointReport Report { get; }

    /// <summary>The file the model hash is computed from: the single file, or the folder's UNet weights.</summary>
    public string HashedFilePath { get; }

    /// <summary>Lower-case hex SHA-256 of <see cref="HashedFilePath"/>; computed (streaming) on first use, then cached.</summary>
    public string Sha256 => sha256.Value;

    /// <summary>A1111's model hash for PNG metadata: the first 10 hex characters of <see cref="Sha256"/>.</summary>
    public string ModelHash => Checkpoints.ModelHash.Short(Sha256);

    /// <summary>The component called <paramref name="name"/> ("unet", "vae" or "text_encoder").</summary>
    public CheckpointComponent this[string name] => name switch
    {
        "unet" => UNet,
        "vae" => Vae,
        "text_encoder" => TextEncoder,
        _ => throw new KeyNotFoundException($"no component '{name}' (expected unet, vae or text_encoder)"),
    };

    /// <summary>
    /// Opens a diffusers model folder (or its <c>model_index.json</c>) or a single .safetensors checkpoint in
    /// the LDM/CompVis layout. <paramref name="yamlPath"/> is the LDM config of a single file; without it a
    /// sidecar <c>&lt;checkpoint&gt;.yaml</c> is used when present, else the architecture is inferred from shapes.
    /// </summary>
    /// <exception cref="ModelLoadException">The path is missing, pickled, malformed, not an SD 1.x model, or inconsistent.</exception>
    /// <exception cref="ArgumentException">A yaml was given for a folder.</exception>
    public static StableDiffusionCheckpoint Open(string path, string? yamlPath = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (File.Exists(path) && Path.GetFileName(path) == "model_index.json") path = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (Directory.Exists(path))
        {
            if (yamlPath is not null) throw new ArgumentException("an LDM yaml describes single-file checkpoints, not diffusers folders", nameof(yamlPath));
            var folder = DiffusersModelFolder.Open(path);
            return new StableDiffusionCheckpoint(folder, path, false, folder.UNet, folder.Vae, folder.TextEncoder, folder.TokenizerPath,
                folder.SchedulerConfig, folder.Report);
        }

        if (!File.Exists(path)) throw new ModelLoadException($"{path}: no such file or folder");
        var single = LdmCheckpoint.Open(path, yamlPath);
        return new StableDiffusionCheckpoint(single, path, true, single.UNet, single.Vae, single.TextEncoder, null, single.SchedulerConfig, single.Report);
    }

    /// <summary>Unmaps the files.</summary>
    public void Dispose() => owner.Dispose();
}
