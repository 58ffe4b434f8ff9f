using System.Text.Json.Nodes;
using LoraGrains.Diffusion.Models;
using LoraGrains.Torch;
using LoraGrains.Torch.Safetensors;

namespace LoraGrains.Diffusion.Checkpoints;

/// <summary>
/// A single-file SD 1.x checkpoint in the original LDM/CompVis layout (what civitai and A1111 users have):
/// <c>model.diffusion_model.*</c> (UNet), <c>first_stage_model.*</c> (VAE) and <c>cond_stage_model.transformer.*</c>
/// (CLIP text model), presented as per-component <see cref="StateDict"/>s under diffusers/transformers names
/// with equivalent diffusers config.json content. The tensors stay memory-mapped; nothing is copied.
/// </summary>
/// <remarks>
/// <para>The architecture comes from the LDM yaml when there is one (the given path, else A1111's sidecar
/// <c>&lt;checkpoint&gt;.yaml</c>), otherwise it is inferred from tensor shapes. Every tensor the architecture
/// needs is checked against its expected shape when the file is opened.</para>
/// <para>The text encoder's head count is invisible in its shapes. It is taken, in order, from the yaml's
/// <c>cond_stage_config.params.num_attention_heads</c> (a LoraGrains extension; LDM has no such field), from a
/// transformers <c>text_encoder/config.json</c> beside the yaml or the checkpoint whose sizes match the file
/// (the sd-tiny fixture's yaml points there), or as hidden_size / 64, the head width of every released CLIP
/// text tower (SD 1.x: 768 / 64 = 12). When none applies (hidden size not a multiple of 64) opening fails
/// rather than guessing.</para>
/// <para>Single files carry no tokenizer: the caller supplies SD 1.x's CLIP tokenizer. The scheduler config
/// is SD-1.5's PNDM config with the yaml's <c>linear_start</c>/<c>linear_end</c>/<c>timesteps</c>.</para>
/// </remarks>
public sealed class LdmCheckpoint : IDisposable
{
    private static readonly HashSet<string> ScheduleBuffers = new(StringComparer.Ordinal)
    {
        "betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod",
        "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod", "posterior_variance",
        "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2", "logvar", "lvlb_weights",
    };

    private readonly SafetensorsFile file;

    private LdmCheckpoint(SafetensorsFile file, string? yamlPath)
    {
        this.file = file;
        FilePath = file.FilePath;
        YamlPath = yamlPath;
    }

    /// <summary>The checkpoint file.</summary>
    public string FilePath { get; }

    /// <summary>The LDM yaml the architecture was read from, or null when it was inferred from shapes.</summary>
    public string? YamlPath { get; }

    /// <summary>UNet architecture (from the yaml or inferred).</summary>
    public UNetArchitecture UNetArchitecture { get; private set; } = null!;

    /// <summary>VAE architecture (from the yaml or inferred).</summary>
    public VaeArchitecture VaeArchitecture { get; private set; } = null!;

    /// <summary>Text encoder architecture (from shapes plus a head-count source).</summary>
    public TextEncoderArchitecture TextEncoderArchitecture { get; private set; } = null!;

    /// <summary>The UNet under diffusers names with its <c>UNet2DConditionModel</c> config.</summary>
    public CheckpointComponent UNet { get; private set; } = null!;

    /// <summary>The VAE under diffusers names with its <c>AutoencoderKL</c> config.</summary>
    public CheckpointComponent Vae { get; private set; } = null!;

    /// <summary>The text encoder under transformers names (<c>text_model.*</c>) with a <c>CLIPTextConfig</c>-like config.</summary>
    public CheckpointComponent TextEncoder { get; private set; } = null!;

    /// <summary>SD-1.5's PNDM scheduler config with the yaml's training schedule.</summary>
    public JsonObject SchedulerConfig { get; private set; } = null!;

    /// <summary>Unmatched, missing and skipped keys and notes.</summary>
    public CheckpointReport Report { get; private set; } = null!;

    /// <summary>
    /// Opens <paramref name="path"/> (a .safetensors single file) with the architecture of
    /// <paramref name="yamlPath"/>, of the sidecar <c>&lt;name&gt;.yaml</c> when no yaml is given and one exists,
    /// or else inferred from the tensor shapes.
    /// </summary>
    /// <exception cref="ModelLoadException">
    /// The file is pickled, truncated or malformed; not an SD 1.x checkpoint (a LoRA, SDXL, SD 2.x); its
    /// yaml is unusable; or a tensor's shape disagrees with the architecture.
    /// </exception>
    public static LdmCheckpoint Open(string path, string? yamlPath = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        CheckpointFileFormat.EnsureSafetensors(path);
        if (yamlPath is not null && !File.Exists(yamlPath)) throw new ModelLoadException($"{yamlPath}: yaml config not found");
        var sidecar = Path.ChangeExtension(path, ".yaml");
        yamlPath ??= File.Exists(sidecar) ? sidecar : null;

        SafetensorsFile file;
        try
        {
            file = SafetensorsFile.Open(path);
        }
        catch (SafetensorsException e)
        {
            throw new ModelLoadException($"cannot read checkpoint {e.FilePath}: {e.Problem}", e);
        }

        var checkpoint = new LdmCheckpoint(file, yamlPath);
        try
        {
            checkpoint.Build();
            return checkpoint;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private void Build()
    {
        var entries = file.Entries;
        CheckKind(entries);
        var notes = new List<string>();

        ConfigSection? model = null;
        if (YamlPath is not null)
        {
            var root = YamlSubsetReader.Load(YamlPath) as JsonObject
                ?? throw new ModelLoadException($"{YamlPath}: expected a map at the top level");
            model = new ConfigSection(root, YamlPath, "").Section("model")?.Section("params")
                ?? throw new ModelLoadException($"{YamlPath}: model.params is missing: not an LDM config");
            if (model.Has("network_config"))
                throw new ModelLoadException($"{YamlPath}: model.params.network_config is an SDXL (sgm) config; only SD 1.x checkpoints are supported");
            var condTarget = model.Section("cond_stage_config")?.String("target") ?? "";
            if (condTarget.Contains("OpenCLIP", StringComparison.Ordinal))
                throw new ModelLoadException($"{YamlPath}: cond_stage_config is {condTarget}, an SD 2.x text encoder; only SD 1.x checkpoints are supported");
        }

        if (model is not null)
        {
            var unetParams = model.Section("unet_config")?.Section("params")
                ?? throw new ModelLoadException($"{YamlPath}: model.params.unet_config.params is missing");
            var vaeParams = model.Section("first_stage_config")?.Section("params")
                ?? throw new ModelLoadException($"{YamlPath}: model.params.first_stage_config.params is missing");
            var vaeLevels = vaeParams.Section("ddconfig")?.IntList("ch_mult").Length ?? 4;
            // LDM's model.params.image_size is the latent size (v1-inference.yaml: 64 for 512 px);
            // unet_config's own image_size is marked unused there.
            var latentSize = model.Int("image_size", unetParams.Int("image_size", 64));
            UNetArchitecture = UNetArchitecture.FromLdmConfig(unetParams, latentSize);
            VaeArchitecture = VaeArchitecture.FromLdmConfig(vaeParams, model.Double("scale_factor", VaeArchitecture.Sd1ScalingFactor),
                latentSize << (vaeLevels - 1));
            notes.Add($"UNet and VAE architecture from {YamlPath}");
        }
        else
        {
            UNetArchitecture = UNetArchitecture.Infer(entries, FilePath);
            notes.Add($"UNet architecture inferred from tensor shapes; {UNetArchitecture.Sd1NumHeads} attention heads assumed (every SD 1.x config), sample_size 64 (SD 1.5)");
            if (entries.Keys.Any(k => k.StartsWith(VaeArchitecture.SourcePrefix, StringComparison.Ordinal)))
            {
                VaeArchitecture = VaeArchitecture.Infer(entries, FilePath);
                notes.Add($"VAE architecture inferred from tensor shapes; scaling_factor {VaeArchitecture.Sd1ScalingFactor} (SD 1.x)");
            }
            else
            {
                VaeArchitecture = new VaeArchitecture { InChannels = 3, OutChannels = 3, BaseChannels = 128, ChannelMult = [1, 2, 4, 4], LayersPerBlock = 2, LatentChannels = 4 };
                notes.Add("the file has no VAE (first_stage_model.*): SD 1.5's VAE architecture assumed; supply a VAE");
            }
        }

        var textPrefix = TextPrefix(entries);
        TextEncoderArchitecture = ResolveTextEncoder(entries, textPrefix, model, notes);

        var consumed = new HashSet<string>(StringComparer.Ordinal);
        var missing = new List<MissingTensor>();
        var unet = Map("unet", UNetKeyMap.Create(UNetArchitecture), consumed, missing);
        var vae = Map("vae", VaeKeyMap.Create(VaeArchitecture), consumed, missing);
        var text = Map("text_encoder", TextEncoderKeyMap.Create(TextEncoderArchitecture, textPrefix ?? TextEncoderKeyMap.SourcePrefix), consumed, missing);

        var skipped = new List<string>();
        var unmatched = new List<string>();
        foreach (var name in entries.Keys.Where(k => !consumed.Contains(k)).Order(StringComparer.Ordinal))
            (IsSkippable(name) ? skipped : unmatched).Add(name);

        var textDType = textPrefix is not null && entries.TryGetValue(textPrefix + "embeddings.token_embedding.weight", out var tok) ? tok.DType : DType.Float32;
        UNet = new CheckpointComponent("unet", unet, UNetArchitecture.ToDiffusersConfig(), FilePath);
        Vae = new CheckpointComponent("vae", vae, VaeArchitecture.ToDiffusersConfig(), FilePath);
        TextEncoder = new CheckpointComponent("text_encoder", text, TextEncoderArchitecture.ToTransformersConfig(TorchDTypeName(textDType)), FilePath);
        SchedulerConfig = SchedulerFrom(model);
        Report = new CheckpointReport(unmatched, missing, skipped, notes);
    }

    // Recognises the files that are not SD 1.x checkpoints before any mapping, so the error says what the file is.
    private void CheckKind(IReadOnlyDictionary<string, SafetensorsEntry> entries)
    {
        bool Any(string prefix) => entries.Keys.Any(k => k.StartsWith(prefix, StringComparison.Ordinal));
        if (Any("conditioner.embedders.") || Any("model.diffusion_model.label_emb."))
            throw new ModelLoadException($"{FilePath}: this is an SDXL checkpoint (conditioner.embedders.* / label_emb keys); only SD 1.x checkpoints are supported");
        if (Any("cond_stage_model.model."))
            throw new ModelLoadException($"{FilePath}: this is an SD 2.x checkpoint (OpenCLIP text encoder cond_stage_model.model.*); only SD 1.x checkpoints are supported");
        if (Any(UNetArchitecture.SourcePrefix)) return;

        string hint;
        if (entries.Keys.Any(k => k.StartsWith("lora_", StringComparison.Ordinal) || k.Contains(".lora_down.", StringComparison.Ordinal)
                || k.Contains(".lora_A.", StringComparison.Ordinal) || k.Contains(".lora.down.", StringComparison.Ordinal)))
            hint = "it looks like a LoRA; apply it to a base model instead";
        else if (Any("down_blocks.") || Any("unet.") || Any("encoder.down_blocks."))
            hint = "it looks like diffusers-format weights; open the diffusers model folder instead";
        else if (Any("encoder.down.") || Any("decoder.up."))
            hint = "it looks like a standalone VAE";
        else
            hint = "first keys: " + string.Join(", ", entries.Keys.Order(StringComparer.Ordinal).Take(3));
        throw new ModelLoadException($"{FilePath}: not a Stable Diffusion checkpoint: no model.diffusion_model.* keys ({hint})");
    }

    private static string? TextPrefix(IReadOnlyDictionary<string, SafetensorsEntry> entries)
    {
        if (entries.Keys.Any(k => k.StartsWith(TextEncoderKeyMap.SourcePrefix, StringComparison.Ordinal))) return TextEncoderKeyMap.SourcePrefix;
        var legacy = TextEncoderKeyMap.LegacySourcePrefix;
        return entries.Keys.Any(k => k.StartsWith(legacy + "embeddings.", StringComparison.Ordinal) || k.StartsWith(legacy + "encoder.", StringComparison.Ordinal))
            ? legacy
            : null;
    }

    private TextEncoderArchitecture ResolveTextEncoder(IReadOnlyDictionary<string, SafetensorsEntry> entries, string? prefix, ConfigSection? model, List<string> notes)
    {
        if (prefix is null)
        {
            notes.Add("the file has no text encoder (cond_stage_model.transformer.*): SD 1.x's CLIP ViT-L/14 architecture assumed; supply a text encoder");
            return TextEncoderArchitecture.Sd1Default;
        }

        var (hidden, layers, intermediate, vocab, positions) = TextEncoderArchitecture.InferShapes(entries, prefix, FilePath);
        var arch = new TextEncoderArchitecture
        {
            HiddenSize = hidden, NumLayers = layers, NumHeads = 0, IntermediateSize = intermediate, VocabSize = vocab, MaxPositions = positions,
        };

        var condParams = model?.Section("cond_stage_config")?.Section("params");
        if (condParams is not null && condParams.Has("num_attention_heads"))
        {
            notes.Add($"text encoder heads from {YamlPath} cond_stage_config.params.num_attention_heads");
            return CheckHeads(arch with { NumHeads = condParams.Int("num_attention_heads") }, YamlPath!);
        }

        var dirs = new[] { YamlPath is null ? null : Path.GetDirectoryName(Path.GetFullPath(YamlPath)), Path.GetDirectoryName(Path.GetFullPath(FilePath)) };
        foreach (var dir in dirs.OfType<string>().Distinct(StringComparer.Ordinal))
        {
            var configPath = Path.Combine(dir, "text_encoder", "config.json");
            if (!File.Exists(configPath)) continue;
            var c = new ConfigSection(JsonConfigFile.Read(configPath), configPath, "");
            var mismatch = new[]
            {
                ("hidden_size", hidden), ("num_hidden_layers", layers), ("intermediate_size", intermediate),
                ("vocab_size", vocab), ("max_position_embeddings", positions),
            }.FirstOrDefault(f => c.Int(f.Item1, -1) != f.Item2);
            if (mismatch.Item1 is not null)
            {
                notes.Add($"ignored {configPath}: its {mismatch.Item1} {c.Int(mismatch.Item1, -1)} differs from the file's {mismatch.Item2}");
                continue;
            }

            notes.Add($"text encoder heads from {configPath}");
            return CheckHeads(arch with
            {
                NumHeads = c.Int("num_attention_heads"),
                HiddenAct = c.String("hidden_act") ?? arch.HiddenAct,
                LayerNormEps = c.Double("layer_norm_eps", arch.LayerNormEps),
                TokenIds = (c.Int("bos_token_id", arch.TokenIds.Bos), c.Int("eos_token_id", arch.TokenIds.Eos), c.Int("pad_token_id", arch.TokenIds.Pad)),
            }, configPath);
        }

        if (hidden % TextEncoderArchitecture.ClipHeadSize == 0)
        {
            notes.Add($"text encoder heads = hidden_size {hidden} / {TextEncoderArchitecture.ClipHeadSize} (CLIP's head width)");
            return arch with { NumHeads = hidden / TextEncoderArchitecture.ClipHeadSize };
        }

        throw new ModelLoadException(
            $"{FilePath}: cannot determine the text encoder's number of attention heads: its hidden size {hidden} is not a multiple of CLIP's head width " +
            $"{TextEncoderArchitecture.ClipHeadSize}. Put a transformers text_encoder/config.json beside the checkpoint, or set " +
            "model.params.cond_stage_config.params.num_attention_heads in its yaml.");
    }

    private static TextEncoderArchitecture CheckHeads(TextEncoderArchitecture a, string source) =>
        a.NumHeads > 0 && a.HiddenSize % a.NumHeads == 0
            ? a
            : throw new ModelLoadException($"{source}: {a.NumHeads} attention heads do not divide the text encoder's hidden size {a.HiddenSize}");

    private StateDict Map(string component, IReadOnlyList<KeyMapping> rows, HashSet<string> consumed, List<MissingTensor> missing)
    {
        var sd = new StateDict(component);
        var source = YamlPath is null ? "inferred from the file" : "from " + YamlPath;
        foreach (var row in rows)
        {
            if (!file.Entries.TryGetValue(row.SourceName, out var entry))
            {
                missing.Add(new MissingTensor(component, row.DiffusersName, row.SourceName));
                continue;
            }

            if (!row.Accepts(entry.Shape))
            {
                throw new ModelLoadException(
                    $"{FilePath}: tensor '{row.SourceName}' ({component} '{row.DiffusersName}') has shape [{string.Join(", ", entry.Shape)}], " +
                    $"but the architecture ({source}) needs [{string.Join(", ", row.Shape)}]");
            }

            if (!entry.DType.IsFloatingPoint())
                throw new ModelLoadException($"{FilePath}: tensor '{row.SourceName}' is {entry.DType}, expected floating point weights");
            sd.Add(row.DiffusersName, file, entry, entry.Shape.AsSpan().SequenceEqual(row.Shape) ? null : row.Shape);
            consumed.Add(row.SourceName);
        }

        return sd;
    }

    private static bool IsSkippable(string name) =>
        name.StartsWith("model_ema.", StringComparison.Ordinal)
        || ScheduleBuffers.Contains(name)
        || name.StartsWith("first_stage_model.loss.", StringComparison.Ordinal)
        || (name.StartsWith(TextEncoderKeyMap.LegacySourcePrefix, StringComparison.Ordinal) && name.EndsWith("embeddings.position_ids", StringComparison.Ordinal));

    private JsonObject SchedulerFrom(ConfigSection? model)
    {
        if (model is null) return DefaultSchedulerConfig.Pndm();
        var schedule = model.String("beta_schedule") ?? "linear";
        var betaSchedule = schedule switch
        {
            // LDM's "linear" interpolates sqrt(beta) (diffusers "scaled_linear"); its "sqrt_linear" interpolates beta.
            "linear" => "scaled_linear",
            "sqrt_linear" => "linear",
            "cosine" => "squaredcos_cap_v2",
            _ => throw model.Error("beta_schedule", $"'{schedule}' has no diffusers equivalent"),
        };
        var parameterization = model.String("parameterization") ?? "eps";
        var prediction = parameterization switch
        {
            "eps" => "epsilon",
            "v" => "v_prediction",
            "x0" => "sample",
            _ => throw model.Error("parameterization", $"'{parameterization}' is unknown"),
        };
        return DefaultSchedulerConfig.Pndm(model.Double("linear_start", 0.00085), model.Double("linear_end", 0.012),
            model.Int("timesteps", 1000), betaSchedule, prediction);
    }

    private static string TorchDTypeName(DType t) => t switch
    {
        DType.Float16 => "float16",
        DType.BFloat16 => "bfloat16",
        _ => "float32",
    };

    /// <summary>Unmaps the file; the component state dicts become unusable.</summary>
    public void Dispose() => file.Dispose();
}
