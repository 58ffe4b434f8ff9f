using System.Text.Json;
using System.Text.Json.Nodes;
using LoraGrains.Diffusion.Models;
using LoraGrains.Torch.Safetensors;

namespace LoraGrains.Diffusion.Checkpoints;

/// <summary>
/// A diffusers model folder of a Stable Diffusion 1.x pipeline: <c>model_index.json</c> plus the
/// <c>unet/</c>, <c>vae/</c>, <c>text_encoder/</c>, <c>tokenizer/</c> and <c>scheduler/</c> folders. Each
/// weighted component is a config.json plus a safetensors file (fp32 or fp16, also <c>*.fp16.safetensors</c>
/// variants), memory-mapped. Pickled weights (<c>.bin</c>) are refused, never unpickled.
/// </summary>
public sealed class DiffusersModelFolder : IDisposable
{
    private static readonly Dictionary<string, string[]> ExpectedClasses = new(StringComparer.Ordinal)
    {
        ["unet"] = ["UNet2DConditionModel"],
        ["vae"] = ["AutoencoderKL"],
        ["text_encoder"] = ["CLIPTextModel"],
        ["tokenizer"] = ["CLIPTokenizer", "CLIPTokenizerFast"],
        ["scheduler"] = [],
    };

    // VAE attention names diffusers used before 0.15 (AttentionBlock); diffusers renames them when loading.
    private static readonly (string Old, string New)[] DeprecatedVaeAttentionNames =
        [(".query.", ".to_q."), (".key.", ".to_k."), (".value.", ".to_v."), (".proj_attn.", ".to_out.0.")];

    private readonly List<SafetensorsFile> files = [];

    private DiffusersModelFolder(string root, JsonObject modelIndex)
    {
        RootPath = root;
        ModelIndex = modelIndex;
    }

    /// <summary>The folder.</summary>
    public string RootPath { get; }

    /// <summary>The parsed <c>model_index.json</c>.</summary>
    public JsonObject ModelIndex { get; }

    /// <summary>The UNet (<c>unet/</c>).</summary>
    public CheckpointComponent UNet { get; private set; } = null!;

    /// <summary>The VAE (<c>vae/</c>).</summary>
    public CheckpointComponent Vae { get; private set; } = null!;

    /// <summary>The CLIP text encoder (<c>text_encoder/</c>).</summary>
    public CheckpointComponent TextEncoder { get; private set; } = null!;

    /// <summary>The tokenizer folder (<c>vocab.json</c> + <c>merges.txt</c>).</summary>
    public string TokenizerPath { get; private set; } = null!;

    /// <summary>The parsed <c>scheduler/scheduler_config.json</c>.</summary>
    public JsonObject SchedulerConfig { get; private set; } = null!;

    /// <summary>Skipped keys and notes (folders are taken as saved: no unmatched/missing analysis).</summary>
    public CheckpointReport Report { get; private set; } = null!;

    /// <summary>
    /// Opens the folder at <paramref name="path"/>. Weights files are looked up as
    /// <c>diffusion_pytorch_model.safetensors</c> / <c>model.safetensors</c>; when <paramref name="variant"/>
    /// (e.g. "fp16") is given its <c>*.{variant}.safetensors</c> files are preferred, otherwise the plain ones
    /// are, falling back to the fp16 variant.
    /// </summary>
    /// <exception cref="ModelLoadException">
    /// <c>model_index.json</c> is not an SD 1.x-style pipeline index, or a component folder, its config or its
    /// safetensors weights are missing (only <c>.bin</c> pickles present included); the message names the component and the path.
    /// </exception>
    public static DiffusersModelFolder Open(string path, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var indexPath = Path.Combine(path, "model_index.json");
        if (!File.Exists(indexPath)) throw new ModelLoadException($"{path}: not a diffusers model folder: model_index.json not found");
        var folder = new DiffusersModelFolder(path, JsonConfigFile.Read(indexPath));
        try
        {
            folder.Load(indexPath, variant);
            return folder;
        }
        catch
        {
            folder.Dispose();
            throw;
        }
    }

    private void Load(string indexPath, string? variant)
    {
        ValidateIndex(indexPath);
        var notes = new List<string>();
        var skipped = new List<string>();
        UNet = LoadComponent("unet", ["diffusion_pytorch_model", "model"], variant, notes, skipped);
        Vae = LoadComponent("vae", ["diffusion_pytorch_model", "model"], variant, notes, skipped);
        TextEncoder = LoadComponent("text_encoder", ["model", "diffusion_pytorch_model"], variant, notes, skipped);

        TokenizerPath = ComponentDirectory("tokenizer");
        var hasVocab = File.Exists(Path.Combine(TokenizerPath, "vocab.json")) && File.Exists(Path.Combine(TokenizerPath, "merges.txt"));
        if (!hasVocab && !File.Exists(Path.Combine(TokenizerPath, "tokenizer.json")))
            throw new ModelLoadException($"{RootPath}: component 'tokenizer': {TokenizerPath} has neither vocab.json + merges.txt nor tokenizer.json");

        var schedulerConfig = Path.Combine(ComponentDirectory("scheduler"), "scheduler_config.json");
        if (!File.Exists(schedulerConfig))
            throw new ModelLoadException($"{RootPath}: component 'scheduler': config file {schedulerConfig} not found");
        SchedulerConfig = JsonConfigFile.Read(schedulerConfig);
        Report = new CheckpointReport([], [], skipped, notes);
    }

    private void ValidateIndex(string indexPath)
    {
        var className = ModelIndex["_class_name"] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
        if (className is null || !className.StartsWith("StableDiffusion", StringComparison.Ordinal) || !className.EndsWith("Pipeline", StringComparison.Ordinal))
            throw new ModelLoadException($"{indexPath}: _class_name '{className}' is not a StableDiffusionPipeline-like pipeline");
        if (className.StartsWith("StableDiffusionXL", StringComparison.Ordinal) || className.StartsWith("StableDiffusion3", StringComparison.Ordinal))
            throw new ModelLoadException($"{indexPath}: {className} is not supported; only SD 1.x pipelines are");

        foreach (var (component, classes) in ExpectedClasses)
        {
            if (ModelIndex[component] is not JsonArray { Count: 2 } entry || entry[1] is not JsonValue cls || cls.GetValueKind() != JsonValueKind.String)
                throw new ModelLoadException($"{indexPath}: component '{component}' is missing or null (expected [library, class])");
            var name = cls.GetValue<string>();
            var ok = classes.Length == 0 ? name.EndsWith("Scheduler", StringComparison.Ordinal) : classes.Contains(name, StringComparer.Ordinal);
            if (!ok)
                throw new ModelLoadException($"{indexPath}: component '{component}' is a {name}, expected {(classes.Length == 0 ? "a *Scheduler" : string.Join(" or ", classes))}");
        }
    }

    private string ComponentDirectory(string component)
    {
        var dir = Path.Combine(RootPath, component);
        return Directory.Exists(dir) ? dir : throw new ModelLoadException($"{RootPath}: component '{component}' is missing: folder {dir} not found");
    }

    private CheckpointComponent LoadComponent(string component, string[] stems, string? variant, List<string> notes, List<string> skipped)
    {
        var dir = ComponentDirectory(component);
        var configPath = Path.Combine(dir, "config.json");
        if (!File.Exists(configPath)) throw new ModelLoadException($"{RootPath}: component '{component}': config file {configPath} not found");
        var config = JsonConfigFile.Read(configPath);

        var weightsPath = FindWeights(component, dir, stems, variant);
        SafetensorsFile file;
        try
        {
            file = SafetensorsFile.Open(weightsPath);
        }
        catch (SafetensorsException e)
        {
            throw new ModelLoadException($"{RootPath}: component '{component}': cannot read {e.FilePath}: {e.Problem}", e);
        }

        files.Add(file);
        var sd = new StateDict(component);
        var renamed = 0;
        foreach (var (name, entry) in file.Entries)
        {
            // transformers < 4.31 saved the position_ids buffer; it is not a weight.
            if (component == "text_encoder" && name.EndsWith("embeddings.position_ids", StringComparison.Ordinal))
            {
                skipped.Add($"{component}/{name}");
                continue;
            }

            var key = name;
            if (component == "vae" && name.Contains("mid_block.attentions.", StringComparison.Ordinal))
            {
                foreach (var (old, @new) in DeprecatedVaeAttentionNames)
                    key = key.Replace(old, @new, StringComparison.Ordinal);
                if (key != name) renamed++;
            }

            // Old diffusers VAEs also stored these attention weights as [C, C, 1, 1] convs.
            var shape = key != name && entry.Shape is [var o, var i, 1, 1] ? new[] { o, i } : null;
            sd.Add(key, file, entry, shape);
        }

        if (renamed > 0) notes.Add($"vae: {renamed} tensors renamed from the pre-0.15 diffusers attention names (query/key/value/proj_attn)");
        return new CheckpointComponent(component, sd, config, weightsPath);
    }

    private string FindWeights(string component, string dir, string[] stems, string? variant)
    {
        var plain = stems.Select(s => s + ".safetensors");
        var variants = stems.Select(s => $"{s}.{variant ?? "fp16"}.safetensors");
        var order = variant is null ? plain.Concat(variants) : variants.Concat(plain);
        foreach (var name in order)
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }

        var present = Directory.EnumerateFiles(dir).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToArray();
        var pickles = present.Where(CheckpointFileFormat.IsPickleName).ToArray();
        if (pickles.Length > 0)
        {
            throw new ModelLoadException(
                $"{RootPath}: component '{component}': only pickled weights ({string.Join(", ", pickles)}) in {dir}; " +
                "LoraGrains refuses to unpickle (it can run arbitrary code). Convert them to safetensors.");
        }

        if (present.Any(f => f.EndsWith(".safetensors.index.json", StringComparison.Ordinal)))
            throw new ModelLoadException($"{RootPath}: component '{component}': sharded weights in {dir} are not supported");
        throw new ModelLoadException(
            $"{RootPath}: component '{component}': no weights file in {dir} (looked for {string.Join(", ", order)})");
    }

    /// <summary>Unmaps every weights file; the component state dicts become unusable.</summary>
    public void Dispose()
    {
        foreach (var f in files) f.Dispose();
        files.Clear();
    }
}
