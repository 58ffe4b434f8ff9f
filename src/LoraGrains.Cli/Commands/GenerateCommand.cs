using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using LoraGrains.Client;
using LoraGrains.Cluster.Grains;
using LoraGrains.Cluster.Runtime;
using LoraGrains.Diffusion.Composition;
using LoraGrains.Diffusion.Lora;
using LoraGrains.Diffusion.Pipeline;
using LoraGrains.Diffusion.Schedulers;
using LoraGrains.Torch;

namespace LoraGrains.Cli.Commands;

/// <summary>
/// <c>lora-grains generate</c>: text-to-image on this machine, through an embedded silo (in-process, SQLite in the data
/// directory, loopback HTTP): the adapters are registered in a session, the job is queued and run like a cluster job,
/// and its PNG is downloaded to <c>--out</c>.
/// </summary>
internal static class GenerateCommand
{
    // The CLI's session in the embedded silo: its history lists every local generation.
    private const string SessionId = "cli";

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
          --data DIR               the embedded silo's data directory: SQLite database, adapters (by content hash),
                                   images (default: $XDG_DATA_HOME/lora-grains, else ~/.local/share/lora-grains)
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

        // Everything that does not need the model is checked before the silo starts.
        var args = new Arguments(argv, new HashSet<string> { "sequential-composite" });
        var modelPath = args.String("model");
        var device = args.String("device") ?? "cpu";
        Device.Parse(device);
        var threads = args.Int("threads") ?? Environment.ProcessorCount;
        var data = args.String("data") ?? DefaultDataDirectory();
        var prompt = TextOption(args, "prompt") ?? throw new UsageException("--prompt or --prompt-file is required");
        var negative = TextOption(args, "negative") ?? "";
        var output = args.String("out") ?? throw new UsageException("--out FILE.png is required");
        var loras = args.All("lora").Select(ParseLora).ToList();
        var loraKeys = args.All("lora-key");
        if (loraKeys.Count > loras.Count) throw new UsageException($"{loraKeys.Count} --lora-key values but only {loras.Count} --lora");
        var method = CompositionMethods.Parse(args.String("method") ?? "composite");
        var scheduler = args.String("scheduler") ?? "dpmpp-2m";
        SchedulerKinds.Parse(scheduler);
        var batch = args.Int("batch") ?? 1;
        var request = new JobRequest
        {
            Prompt = prompt,
            NegativePrompt = negative,
            Steps = args.Int("steps") ?? 20,
            GuidanceScale = args.Double("cfg") ?? 7.5,
            Scheduler = scheduler,
            Seed = args.ULong("seed") ?? 0,
            Width = args.Int("width"),
            Height = args.Int("height"),
            BatchSize = batch,
            ClipSkip = args.Int("clip-skip") ?? 0,
            Method = method.Name(),
            SwitchEvery = args.Int("switch-every") ?? 5,
            LoraScale = args.Double("lora-scale") ?? 0.8,
            FusionTemperature = args.Double("fusion-temperature") ?? 0.1,
            BatchedComposite = !args.Flag("sequential-composite"),
        };
        var tokenizer = args.String("tokenizer");
        var yaml = args.String("yaml");
        args.RejectUnknown();
        if (!output.EndsWith(".png", StringComparison.OrdinalIgnoreCase)) throw new UsageException($"--out must name a .png file, got '{output}'");
        foreach (var (path, _, _) in loras)
        {
            if (!File.Exists(path)) throw new FileNotFoundException($"--lora {path}: no such file", path);
        }

        // The silo validates the request again with the model's native size; any valid size stands in for it here,
        // so a bad value fails before the silo starts, with the silo's own message.
        JobRequestResolver.Resolve(request, session: null, nativeSize: 64);

        if (modelPath is null)
        {
            Console.Error.WriteLine("note: no --model given: using the embedded tiny model with RANDOM weights (a smoke test, not a trained model; the image is noise-like)");
        }

        var largestLora = loras.Select(l => new FileInfo(l.Path).Length).DefaultIfEmpty(0).Max();
        await using var silo = await EmbeddedLoraGrains.StartAsync(data, o =>
        {
            o.ModelPath = modelPath;
            o.ModelYamlPath = yaml;
            o.TokenizerPath = tokenizer;
            o.Device = device;
            o.Threads = threads;
            // Local files are the user's own: no upload limit below their size.
            o.MaxAdapterUploadBytes = Math.Max(o.MaxAdapterUploadBytes, largestLora);
        }, cancellationToken);
        var session = await silo.Client.OpenSessionAsync(SessionId, cancellationToken: cancellationToken);

        var adapters = new List<JobAdapter>();
        for (var i = 0; i < loras.Count; i++)
        {
            var (path, weight, schedule) = loras[i];
            var info = await RegisterAsync(session, path, cancellationToken);
            var name = UniqueName(Path.GetFileNameWithoutExtension(path), adapters);
            adapters.Add(new JobAdapter(info.Hash, weight, schedule?.ToString(), i < loraKeys.Count ? loraKeys[i] : null, name));
            Console.Error.WriteLine($"lora {name}: {info.Format}, rank {info.Rank}, {string.Join("+", info.Targets)}");
        }

        LoraGrainsJob job;
        try
        {
            job = await session.GenerateAsync(request with { Adapters = adapters }, cancellationToken);
        }
        catch (LoraGrainsException e) when (e.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound)
        {
            // The silo validated the request: say what it said, without the HTTP status.
            throw new ArgumentException(e.Detail);
        }

        WarnIfTruncated(tokenizer, modelPath, request.Prompt, request.NegativePrompt);
        await WatchAsync(job, cancellationToken);
        var images = new List<byte[]>(batch);
        for (var i = 0; i < batch; i++) images.Add(await job.GetImageAsync(i, cancellationToken));
        if (FusionWeights(images[0]) is { } fusion) Console.Error.WriteLine("fusion weights: " + fusion);

        for (var i = 0; i < images.Count; i++)
        {
            var file = images.Count == 1 ? output : Path.ChangeExtension(output, null) + $"-{i + 1}.png";
            await WriteAtomicallyAsync(file, images[i], cancellationToken);
            Console.WriteLine(file);
        }

        return 0;
    }

    // The text encoder sees 77 tokens; say so when a prompt is cut, with the tokenizer the silo's model uses.
    private static void WarnIfTruncated(string? tokenizer, string? modelPath, string prompt, string? negative)
    {
        var embedded = Path.Combine(ModelHost.EmbeddedModelPath, "tokenizer");
        var directory = tokenizer ?? (modelPath is null || File.Exists(modelPath) ? embedded : Path.Combine(modelPath, "tokenizer"));
        if (!Directory.Exists(directory)) return;
        var clip = Diffusion.Text.ClipTokenizer.FromDirectory(directory);
        if (clip.Encode(prompt).Truncated) Console.Error.WriteLine("warning: the prompt is longer than 77 tokens and was truncated");
        if (negative is { Length: > 0 } && clip.Encode(negative).Truncated) Console.Error.WriteLine("warning: the negative prompt is longer than 77 tokens and was truncated");
    }

    /// <summary>
    /// The default data directory of the embedded silo (database, adapters by hash, images): <c>$XDG_DATA_HOME/lora-grains</c>,
    /// else <c>~/.local/share/lora-grains</c> (on Windows <c>%LOCALAPPDATA%\lora-grains</c>).
    /// </summary>
    public static string DefaultDataDirectory() =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify), "lora-grains");

    private static async Task<AdapterInfo> RegisterAsync(LoraGrainsSession session, string path, CancellationToken cancellationToken)
    {
        try
        {
            return await session.RegisterAdapterAsync(path, Path.GetFileNameWithoutExtension(path), cancellationToken);
        }
        catch (LoraGrainsException e) when ((int)e.StatusCode is >= 400 and < 500)
        {
            throw new LoraFormatException(path, e.Detail.StartsWith("body: ", StringComparison.Ordinal) ? e.Detail["body: ".Length..] : e.Detail, e);
        }
    }

    // Per-step progress from the silo's event stream, on the same bar as before; Ctrl+C cancels the job too.
    private static async Task WatchAsync(LoraGrainsJob job, CancellationToken cancellationToken)
    {
        var bar = new ProgressBar();
        var clock = new Stopwatch();
        var shown = 0;
        JobProgress? final = null;
        try
        {
            await foreach (var progress in job.WatchAsync(cancellationToken))
            {
                if (progress.Status == "running" && !clock.IsRunning) clock.Start();
                if (progress.Status is "running" or "succeeded" && progress.Step > shown)
                {
                    shown = progress.Step;
                    bar.Report(new GenerationProgress(progress.Step, progress.TotalSteps, 0, clock.Elapsed));
                }

                if (progress.IsFinal)
                {
                    final = progress;
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            try
            {
                await job.CancelAsync(CancellationToken.None);
            }
            catch (Exception e) when (e is LoraGrainsException or HttpRequestException)
            {
                // The silo stops with this process anyway; the job is not left running.
            }

            throw;
        }

        if (final is not { Status: "succeeded" })
        {
            throw new GenerationFailedException($"the generation {final?.Status ?? "ended without a result"}{(final?.Error is { } error ? ": " + error : "")}");
        }
    }

    // Fusion's weights are in the image's parameters text (a tEXt chunk, Latin-1): Fusion weights: "w1, w2".
    private static string? FusionWeights(byte[] png)
    {
        var text = Encoding.Latin1.GetString(png);
        var match = Regex.Match(text, "Fusion weights: \"([^\"]*)\"|Fusion weights: ([0-9.]+)");
        if (!match.Success) return null;
        return match.Groups[1].Success ? match.Groups[1].Value : match.Groups[2].Value;
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

    private static string UniqueName(string name, List<JobAdapter> adapters)
    {
        var unique = name;
        for (var n = 2; adapters.Any(a => a.Name == unique); n++) unique = $"{name}-{n}";
        return unique;
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
