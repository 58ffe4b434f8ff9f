using LoraGrains.Cluster.Runtime;
using Microsoft.Extensions.Hosting;

namespace LoraGrains.Cli.Commands;

/// <summary><c>lora-grains serve</c>: run one silo of a cluster until SIGTERM/Ctrl+C (then drain and leave).</summary>
internal static class ServeCommand
{
    private const string Help = """
        usage: lora-grains serve [--postgres CONN | --data DIR] [options]

          --postgres CONN          PostgreSQL connection string (a cluster); also env LORAGRAINS_POSTGRES
          --data DIR               shared data directory: adapters, images (and the SQLite database without --postgres); default ./data
          --urls URLS              Kestrel URLs, ';'-separated (default http://127.0.0.1:5080)
          --peer-urls URLS         URLs for silo-to-silo calls (e.g. on a cluster-internal interface); peers then use the first
          --advertise URL          address other silos reach this one at (default: the first of --peer-urls, else of --urls)
          --tls-cert FILE          PEM certificate (chain) of the https URLs (HTTP/1.1 and HTTP/2), with --tls-key
          --tls-key FILE           its PEM private key
          --peer-ca FILE           PEM certificate(s) of the CA that peers' https certificates must chain to
                                   (default: the system's trust store)
          --silo-id ID             membership id (default: random)
          --model PATH             Stable Diffusion model (default: the embedded tiny random model)
          --yaml FILE              LDM yaml of a single-file checkpoint
          --tokenizer DIR          CLIP tokenizer folder for single-file checkpoints (default: the embedded one)
          --device cpu|cuda[:N]    (default cpu)
          --threads N              libtorch CPU threads
          --lease DURATION         job lease, renewed every third (default 30s)
          --heartbeat DURATION     membership heartbeat (default 5s)
          --poll DURATION          wait between claims when idle (default 250ms)
          --cluster-secret SECRET  secret of silo-to-silo calls; also env LORAGRAINS_CLUSTER_SECRET
          --adapter-root DIR       allow registering adapters from files under DIR (repeatable)
          --adapter-budget SIZE    device tier: bytes of adapters kept attached to the model (default 2g)
          --adapter-host-budget SIZE  host tier: bytes of adapters kept in (pinned, on CUDA) host memory after
                                   eviction from the device, promoted back without reading the file (default 4g; 0 = none)
          --max-upload SIZE        largest adapter upload (default 256m)
          --otlp URL               push metrics to an OpenTelemetry collector over OTLP/HTTP (e.g. http://collector:4318)
          --metrics-interval D     OTLP export period (default 15s)
          --no-jobs                gateway only: do not claim jobs
        """;

    public static async Task<int> RunAsync(string[] argv, CancellationToken cancellationToken)
    {
        if (argv.Contains("--help") || argv.Contains("-h"))
        {
            Console.WriteLine(Help);
            return 0;
        }

        var args = new Arguments(argv, new HashSet<string> { "no-jobs" });
        var (provider, connection, data) = ClusterArguments.Database(args);
        var options = new SiloOptions
        {
            DatabaseProvider = provider,
            ConnectionString = connection,
            DataDirectory = data,
            ModelPath = args.String("model"),
            ModelYamlPath = args.String("yaml"),
            TokenizerPath = args.String("tokenizer"),
            Device = args.String("device") ?? "cpu",
            Threads = args.Int("threads"),
            ClusterSecret = args.String("cluster-secret") ?? Environment.GetEnvironmentVariable("LORAGRAINS_CLUSTER_SECRET"),
            AdvertisedAddress = args.String("advertise"),
            PeerUrls = args.String("peer-urls"),
            CertificatePath = args.String("tls-cert"),
            CertificateKeyPath = args.String("tls-key"),
            PeerCertificateAuthorityPath = args.String("peer-ca"),
            OtlpEndpoint = args.String("otlp"),
            RunJobs = !args.Flag("no-jobs"),
        };
        options.Urls = args.String("urls") ?? options.Urls;
        options.SiloId = args.String("silo-id") ?? options.SiloId;
        options.LeaseDuration = ClusterArguments.Duration(args, "lease") ?? options.LeaseDuration;
        options.HeartbeatInterval = ClusterArguments.Duration(args, "heartbeat") ?? options.HeartbeatInterval;
        options.PollInterval = ClusterArguments.Duration(args, "poll") ?? options.PollInterval;
        options.MetricsExportInterval = ClusterArguments.Duration(args, "metrics-interval") ?? options.MetricsExportInterval;
        options.AdapterBudgetBytes = ClusterArguments.Bytes(args, "adapter-budget") ?? options.AdapterBudgetBytes;
        options.AdapterHostBudgetBytes = ClusterArguments.Bytes(args, "adapter-host-budget", allowZero: true) ?? options.AdapterHostBudgetBytes;
        options.MaxAdapterUploadBytes = ClusterArguments.Bytes(args, "max-upload") ?? options.MaxAdapterUploadBytes;
        foreach (var root in args.All("adapter-root")) options.AdapterRoots.Add(Path.GetFullPath(root));
        args.RejectUnknown();

        await using var silo = await SiloHost.BuildAsync(options, cancellationToken: cancellationToken);
        await silo.StartAsync(cancellationToken);
        Console.Error.WriteLine($"silo {options.SiloId} listening on {options.Urls} ({options.DatabaseProvider}, data {Path.GetFullPath(options.DataDirectory)})");
        await silo.WaitForShutdownAsync(CancellationToken.None);
        return 0;
    }
}
