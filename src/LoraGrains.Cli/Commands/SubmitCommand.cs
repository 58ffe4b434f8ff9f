using System.Globalization;
using LoraGrains.Client;

namespace LoraGrains.Cli.Commands;

/// <summary><c>lora-grains submit</c>: generate on a cluster through the client library, with a progress bar from the event stream.</summary>
internal static class SubmitCommand
{
    private const string Help = """
        usage: lora-grains submit --url URL --key KEY --prompt TEXT --out FILE.png [options]

          --url URL                any silo of the cluster
          --key KEY                tenant API key (lg_…); also env LORAGRAINS_API_KEY
          --session ID             run in this session (created when missing)
          --lora PATH[:WEIGHT]     upload and compose a LoRA adapter (repeatable)
          --negative TEXT  --steps N  --cfg S  --scheduler NAME  --seed N  --width W  --height H
          --method NAME            merge|switch|composite|fusion
          --checkpoint-every N     steps between resumable checkpoints
          --out FILE.png
        """;

    public static async Task<int> RunAsync(string[] argv, CancellationToken cancellationToken)
    {
        if (argv.Contains("--help") || argv.Contains("-h"))
        {
            Console.WriteLine(Help);
            return 0;
        }

        var args = new Arguments(argv, new HashSet<string>());
        var url = args.String("url") ?? throw new UsageException("--url is required");
        var key = args.String("key") ?? Environment.GetEnvironmentVariable("LORAGRAINS_API_KEY") ?? throw new UsageException("--key (or LORAGRAINS_API_KEY) is required");
        var prompt = args.String("prompt") ?? throw new UsageException("--prompt is required");
        var output = args.String("out") ?? throw new UsageException("--out FILE.png is required");
        var sessionId = args.String("session");
        var loras = args.All("lora");
        var request = new JobRequest
        {
            Prompt = prompt,
            NegativePrompt = args.String("negative"),
            Steps = args.Int("steps"),
            GuidanceScale = args.Double("cfg"),
            Scheduler = args.String("scheduler"),
            Seed = args.ULong("seed"),
            Width = args.Int("width"),
            Height = args.Int("height"),
            Method = args.String("method"),
            CheckpointEvery = args.Int("checkpoint-every"),
        };
        args.RejectUnknown();
        if (!Uri.TryCreate(url, UriKind.Absolute, out var baseAddress)) throw new UsageException($"--url must be an absolute URL, got '{url}'");

        using var client = new LoraGrainsClient(baseAddress, key);
        var adapters = new List<JobAdapter>();
        foreach (var spec in loras)
        {
            var colon = spec.LastIndexOf(':');
            var (path, weight) = colon > 0 && double.TryParse(spec[(colon + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var w)
                ? (spec[..colon], w)
                : (spec, 1.0);
            if (!File.Exists(path)) throw new UsageException($"--lora {path}: no such file");
            var adapter = await client.RegisterAdapterAsync(path, cancellationToken: cancellationToken);
            Console.Error.WriteLine($"adapter {adapter.Name}: {adapter.Hash[..12]} ({adapter.Format}, rank {adapter.Rank})");
            adapters.Add(new JobAdapter(adapter.Hash, weight));
        }

        if (adapters.Count > 0) request = request with { Adapters = adapters };
        LoraGrainsJob job;
        if (sessionId is not null)
        {
            var session = await client.OpenSessionAsync(sessionId, cancellationToken: cancellationToken);
            job = await session.GenerateAsync(request, cancellationToken);
        }
        else
        {
            job = await client.SubmitAsync(request, cancellationToken);
        }

        Console.Error.WriteLine($"job {job.Id} queued");
        JobProgress? last = null;
        await foreach (var progress in job.WatchAsync(cancellationToken))
        {
            Draw(progress);
            last = progress;
        }

        Console.Error.WriteLine();
        if (last?.Status != "succeeded")
        {
            Console.Error.WriteLine($"error: job {job.Id} {last?.Status ?? "ended"}{(last?.Error is { } e ? ": " + e : string.Empty)}");
            return 1;
        }

        var png = await job.GetImageAsync(cancellationToken);
        var temp = output + ".tmp";
        await File.WriteAllBytesAsync(temp, png, cancellationToken);
        File.Move(temp, output, overwrite: true);
        Console.WriteLine(output);
        return 0;
    }

    private static void Draw(JobProgress progress)
    {
        const int width = 30;
        var filled = progress.TotalSteps == 0 ? 0 : Math.Min(width, progress.Step * width / progress.TotalSteps);
        Console.Error.Write($"\r{progress.Status,-9} step {progress.Step,4}/{progress.TotalSteps} [{new string('#', filled)}{new string('.', width - filled)}] {progress.Silo}");
    }
}
