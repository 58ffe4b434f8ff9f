using System.Globalization;
using System.Text;
using LoraGrains.Diffusion.Composition;
using LoraGrains.Diffusion.Lora;
using LoraGrains.Diffusion.Pipeline;
using LoraGrains.Diffusion.Schedulers;
using LoraGrains.Torch;

namespace LoraGrains.Cli.Commands;

/// <summary><c>lora-grains generate</c>: text-to-image on this machine.</summary>
internal static class GenerateCommand
{
    private const string Help = """
        usage: lora-grains generate --prompt TEXT --out FILE.png [options]

          --model PATH             diffusers folder or single-file .safetensors checkpoint
                                   (default: the embedded tiny random model - NOT a trained model)
          --tokenizer DIR          CLIP tokenizer folder for single-file checkpoints (default: the embedded one)
          --yaml FILE              LDM yaml of a single-file checkpoint
          --prompt TEXT | --prompt-file FILE
          --negative TEXT | --negative-file FILE
          --steps N                denoising steps (default 20)
          --cfg S                  guidance scale (default 7.5)
          --scheduler NAME         ddim|euler|euler-a|dpmpp-2m|dpmpp-2m-karras|pndm (default dpmpp-2m)
          --seed N                 (default 0)
          --width W --height H     multiples of 8 (default: the model's native size)
          --batch N                images per run (default 1)
          --clip-skip N            0 = last CLIP layer (default), 1 = A1111's "Clip skip 2"
          --device cpu|cuda[:N]    (default cpu)
          --threads N              CPU threads for libtorch (default: all cores)
          --lora PATH[:WEIGHT][@SCHEDULE]  a LoRA adapter (repeatable); SCHEDULE = keyframes POS=W;POS=W,
                                   e.g. style.safetensors:0.8@0=0;0.6=1 (only in the last 40% of steps)
          --lora-key TEXT          Fusion key (description/trigger words) for the matching --lora, in order
          --method NAME            merge|switch|composite|fusion (default composite)
          --switch-every N         Switch interval tau (default 5)
          --lora-scale S           global LoRA scale lambda (default 0.8)
          --fusion-temperature T   Fusion softmax temperature (default 0.1)
          --sequential-composite   one UNet pass per adapter instead of one batched pass
          --out FILE.png           output (batch > 1 writes FILE-1.png, FILE-2.png, ...)
        """;

    public static async Task<int> RunAsync(string[] argv, CancellationToken cancellationToken)
    {
        if (argv.Contains("--help") || argv.Contains("-h"))
        {
            Console.WriteLine(Help);
            return 0;
        }

        var args = new Arguments(argv, new HashSet<string> { "sequential-composite" });
        var embedded = Path.Combine(AppContext.BaseDirectory, "models", "sd-tiny");
        var modelPath = args.String("model");
        var device = Device.Parse(args.String("device") ?? "cpu");
        Torch.Torch.NumThreads = args.Int("threads") ?? Environment.ProcessorCount;
        var prompt = TextOption(args, "prompt") ?? throw new UsageException("--prompt or --prompt-file is required");
        var negative = TextOption(args, "negative") ?? "";
        var output = args.String("out") ?? throw new UsageException("--out FILE.png is required");
        var loras = args.All("lora");
        var loraKeys = args.All("lora-key");
        if (loraKeys.Count > loras.Count) throw new UsageException($"{loraKeys.Count} --lora-key values but only {loras.Count} --lora");
        var method = CompositionMethods.Parse(args.String("method") ?? "composite");
        var scheduler = args.String("scheduler") ?? "dpmpp-2m";
        SchedulerKinds.Parse(scheduler);
        var request = new GenerationRequest
        {
            Prompt = prompt,
            NegativePrompt = negative,
            Steps = args.Int("steps") ?? 20,
            GuidanceScale = args.Double("cfg") ?? 7.5,
            Scheduler = scheduler,
            Seed = args.ULong("seed") ?? 0,
            BatchSize = args.Int("batch") ?? 1,
            ClipSkip = args.Int("clip-skip") ?? 0,
            Method = method,
            SwitchEvery = args.Int("switch-every") ?? 5,
            LoraScale = args.Double("lora-scale") ?? 0.8,
            FusionTemperature = args.Double("fusion-temperature") ?? 0.1,
            BatchedComposite = !args.Flag("sequential-composite"),
            Width = 0,
            Height = 0,
        };
        var width = args.Int("width");
        var height = args.Int("height");
        var tokenizer = args.String("tokenizer");
        var yaml = args.String("yaml");
        args.RejectUnknown();
        if (!output.EndsWith(".png", StringComparison.OrdinalIgnoreCase)) throw new UsageException($"--out must name a .png file, got '{output}'");

        if (modelPath is null)
        {
            Console.Error.WriteLine("note: no --model given: using the embedded tiny model with RANDOM weights (a smoke test, not a trained model; the image is noise-like)");
        }

        var options = new ModelLoadOptions
        {
            Device = device,
            TokenizerPath = tokenizer ?? (modelPath is null || Directory.Exists(modelPath) ? null : Path.Combine(embedded, "tokenizer")),
            YamlPath = yaml,
        };
        using var model = StableDiffusionModel.Load(modelPath ?? embedded, options);
        var native = (model.UNet.Config.SampleSize ?? 64) * model.Vae.Config.DownsampleFactor;
        request = request with { Width = width ?? native, Height = height ?? native };
        request.Validate();

        var adapters = new List<LoraAdapter>();
        try
        {
            var uses = new List<AdapterUse>();
            for (var i = 0; i < loras.Count; i++)
            {
                var (path, weight, schedule) = ParseLora(loras[i]);
                var adapter = LoraAdapter.Load(path, model.Targets, model.Device, model.DType);
                adapters.Add(adapter);
                var id = UniqueId(adapter.Name, uses);
                model.Adapters.Attach(id, adapter);
                uses.Add(new AdapterUse(id, weight, schedule, i < loraKeys.Count ? loraKeys[i] : null));
                Console.Error.WriteLine($"lora {adapter.Name}: {adapter.Format}, {adapter.Report.AppliedModules} modules" +
                    (adapter.Report.UnmatchedKeys.Count > 0 ? $", {adapter.Report.UnmatchedKeys.Count} keys not applied" : ""));
            }

            request = request with { Adapters = uses };
            var result = await new StableDiffusionPipeline(model).GenerateAsync(request, new ProgressBar(), cancellationToken: cancellationToken);
            if (result.PromptTruncated) Console.Error.WriteLine("warning: the prompt is longer than 77 tokens and was truncated");
            if (result.NegativePromptTruncated) Console.Error.WriteLine("warning: the negative prompt is longer than 77 tokens and was truncated");
            if (result.FusionWeights is { } fw)
            {
                Console.Error.WriteLine("fusion weights: " + string.Join(", ", uses.Select((u, i) => $"{u.Id} {fw[i].ToString("0.####", CultureInfo.InvariantCulture)}")));
            }

            for (var i = 0; i < result.Images.Count; i++)
            {
                var file = result.Images.Count == 1 ? output : Path.ChangeExtension(output, null) + $"-{i + 1}.png";
                await WriteAtomicallyAsync(file, result.Images[i], cancellationToken);
                Console.WriteLine(file);
            }
        }
        finally
        {
            model.Adapters.Dispose();
            foreach (var a in adapters) a.Dispose();
        }

        return 0;
    }

    private static string? TextOption(Arguments args, string name)
    {
        var text = args.String(name);
        var file = args.String(name + "-file");
        if (text is not null && file is not null) throw new UsageException($"give --{name} or --{name}-file, not both");
        if (file is null) return text;
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"--{name}-file {file}: {e.Message}");
        }

        string content;
        try
        {
            content = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes).TrimStart('\uFEFF').Trim();
        }
        catch (DecoderFallbackException)
        {
            throw new UsageException($"--{name}-file {file} is not valid UTF-8 text");
        }

        if (content.Length == 0 && name == "prompt") throw new UsageException($"--{name}-file {file} is empty");
        return content;
    }

    // PATH[:WEIGHT][@SCHEDULE]; a ':' belongs to the path unless a number follows it.
    private static (string Path, double Weight, WeightSchedule? Schedule) ParseLora(string spec)
    {
        WeightSchedule? schedule = null;
        var at = spec.LastIndexOf('@');
        if (at > 0)
        {
            schedule = WeightSchedule.Parse(spec[(at + 1)..]);
            spec = spec[..at];
        }

        var colon = spec.LastIndexOf(':');
        if (colon > 0 && double.TryParse(spec[(colon + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var weight))
        {
            return (spec[..colon], weight, schedule);
        }

        return (spec, 1.0, schedule);
    }

    private static string UniqueId(string name, List<AdapterUse> uses)
    {
        var id = name;
        for (var n = 2; uses.Any(u => u.Id == id); n++) id = $"{name}-{n}";
        return id;
    }

    // Written beside the target and renamed: a failure never leaves a partial image.
    private static async Task WriteAtomicallyAsync(string path, byte[] content, CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(path);
        var temp = full + ".tmp";
        await File.WriteAllBytesAsync(temp, content, cancellationToken);
        File.Move(temp, full, overwrite: true);
    }
}
