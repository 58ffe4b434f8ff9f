using LoraGrains.Cluster.Storage;

namespace LoraGrains.Cluster.Runtime;

/// <summary>Everything a silo is configured with (bound from the <c>Silo</c> configuration section).</summary>
public sealed class SiloOptions
{
    /// <summary>The configuration section name.</summary>
    public const string Section = "Silo";

    /// <summary>This silo's id in the membership table (default: a random one per process).</summary>
    public string SiloId { get; set; } = $"silo-{Guid.NewGuid():N}"[..17];

    /// <summary>Shared storage for adapter files (by content hash), images and, with SQLite, the database.</summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>Database engine: SQLite (embedded, one silo) or PostgreSQL (a cluster).</summary>
    public ClusterDatabaseProvider DatabaseProvider { get; set; } = ClusterDatabaseProvider.Sqlite;

    /// <summary>PostgreSQL connection string (PostgreSQL only).</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Kestrel URLs, ';'-separated (default http://127.0.0.1:5080).</summary>
    public string Urls { get; set; } = "http://127.0.0.1:5080";

    /// <summary>
    /// URLs for silo-to-silo calls (on a cluster-internal interface, say), ';'-separated; none by default. When set,
    /// peers reach this silo at the first of them.
    /// </summary>
    public string? PeerUrls { get; set; }

    /// <summary>Address peers reach this silo at (default: the first of <see cref="PeerUrls"/>, else of <see cref="Urls"/>).</summary>
    public string? AdvertisedAddress { get; set; }

    /// <summary>
    /// PEM certificate (chain) presented by the https URLs, with <see cref="CertificateKeyPath"/>; without both, https
    /// URLs use Kestrel's configured default certificate.
    /// </summary>
    public string? CertificatePath { get; set; }

    /// <summary>PEM private key of <see cref="CertificatePath"/>.</summary>
    public string? CertificateKeyPath { get; set; }

    /// <summary>
    /// PEM certificate(s) of the authorities that silo-to-silo https must chain to (a cluster's private CA); by default
    /// the system's trust store.
    /// </summary>
    public string? PeerCertificateAuthorityPath { get; set; }

    /// <summary>Lease length of a claimed job; renewed every third of it while the job runs.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Membership heartbeat period.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long without a heartbeat before a silo counts as dead.</summary>
    public TimeSpan DeadAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Wait between claims when the queue is empty.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How often a job's event stream looks for new progress.</summary>
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Shared secret of silo-to-silo endpoints (none: those endpoints refuse everything).</summary>
    public string? ClusterSecret { get; set; }

    /// <summary>The Stable Diffusion model (diffusers folder or single file); default: the embedded tiny model beside the program.</summary>
    public string? ModelPath { get; set; }

    /// <summary>LDM yaml of a single-file checkpoint (default: inferred from its weights).</summary>
    public string? ModelYamlPath { get; set; }

    /// <summary>CLIP tokenizer folder for a single-file checkpoint (default: the embedded model's tokenizer).</summary>
    public string? TokenizerPath { get; set; }

    /// <summary>Device: cpu or cuda[:N].</summary>
    public string Device { get; set; } = "cpu";

    /// <summary>libtorch CPU threads (default: all cores).</summary>
    public int? Threads { get; set; }

    /// <summary>
    /// Device tier: bytes of adapter weights kept attached to the model (on its device); least recently used adapters
    /// beyond it are demoted to the host tier.
    /// </summary>
    public long AdapterBudgetBytes { get; set; } = 2L << 30;

    /// <summary>
    /// Host tier: bytes of adapter weights kept detached in host memory after demotion from the device (page-locked
    /// when the device is CUDA, so promotion is one asynchronous copy; on a CPU silo the same memory, so promotion is
    /// a re-attach). Least recently used adapters beyond it are dropped and reloaded from the data directory when
    /// needed again. 0 disables the tier.
    /// </summary>
    public long AdapterHostBudgetBytes { get; set; } = 4L << 30;

    /// <summary>Largest adapter upload accepted.</summary>
    public long MaxAdapterUploadBytes { get; set; } = 256L << 20;

    /// <summary>Largest JSON request body accepted.</summary>
    public int MaxJsonBodyBytes { get; set; } = 1 << 20;

    /// <summary>Directories adapters may be registered from by path (none by default).</summary>
    public IList<string> AdapterRoots { get; } = [];

    /// <summary>Idle time after which a grain activation is deactivated.</summary>
    public TimeSpan IdleDeactivation { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>OTLP/HTTP endpoint the silo's metrics are pushed to (e.g. http://collector:4318); none by default.</summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>How often metrics are pushed to <see cref="OtlpEndpoint"/>.</summary>
    public TimeSpan MetricsExportInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Whether this silo claims and runs jobs (a gateway-only silo does not).</summary>
    public bool RunJobs { get; set; } = true;

    /// <summary>The address peers use.</summary>
    public string EffectiveAddress => AdvertisedAddress ?? Split(PeerUrls is { Length: > 0 } peers ? peers : Urls)[0];

    /// <summary>Splits a ';'-separated URL list.</summary>
    public static string[] Split(string urls) => (urls ?? string.Empty).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>The store options these describe.</summary>
    public ClusterStoreOptions ToStoreOptions() => new()
    {
        Provider = DatabaseProvider,
        ConnectionString = ConnectionString,
        DataDirectory = DataDirectory,
    };
}
