using System.Diagnostics;
using LoraGrains.Cluster.Runtime;
using Npgsql;

namespace LoraGrains.Testing;

/// <summary>
/// A throw-away PostgreSQL server: <c>initdb</c> into a temp directory, <c>pg_ctl start</c> on a free loopback port with
/// its socket in the same directory, stopped and deleted on dispose. PostgreSQL refuses to run as root, so under root
/// (as in CI) the server binaries run as the <c>postgres</c> OS user via <c>runuser</c>, in a directory it owns.
/// </summary>
public sealed class PrivatePostgres : IAsyncDisposable
{
    private const string SuperUser = "postgres";
    private static readonly TimeSpan s_commandTimeout = TimeSpan.FromSeconds(60);

    private readonly string _root;
    private readonly string _binDirectory;
    private readonly string _connectionOptions;
    private bool _started;
    private int _schemas;

    private PrivatePostgres(string root, string binDirectory, string connectionOptions)
    {
        _root = root;
        _binDirectory = binDirectory;
        _connectionOptions = connectionOptions;
    }

    /// <summary>Port the server listens on (127.0.0.1).</summary>
    public int Port { get; private set; }

    /// <summary>The server's version, e.g. for a benchmark report.</summary>
    public string Version { get; private set; } = "unknown";

    /// <summary>Connection string to the server's maintenance database.</summary>
    public string AdminConnectionString => $"Host=127.0.0.1;Port={Port};Username={SuperUser};Database=postgres;Timeout=15;{_connectionOptions}";

    private string DataDirectory => Path.Combine(_root, "data");

    /// <summary>Creates and starts a server.</summary>
    /// <param name="settings">Server settings passed as <c>-c name=value</c> (e.g. <c>fsync=off</c>).</param>
    /// <param name="connectionOptions">Appended to every connection string (e.g. <c>Command Timeout=30</c>).</param>
    public static async Task<PrivatePostgres> StartAsync(IReadOnlyList<string> settings, string connectionOptions)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var asRoot = Environment.UserName == "root";
        // The postgres user must be able to reach the directory: under root use /tmp, not a private TMPDIR.
        var root = Path.Combine(asRoot ? "/tmp" : Path.GetTempPath(), $"lg-pg-{Environment.ProcessId}-{Guid.NewGuid():N}");
        var server = new PrivatePostgres(root, FindBinDirectory(), connectionOptions);
        try
        {
            await server.InitializeAsync(settings, asRoot).ConfigureAwait(false);
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Creates an empty schema, first on the search path of the returned connection string: as isolated for unqualified
    /// SQL as a database of its own, but made in milliseconds where CREATE DATABASE takes half a second. (Advisory
    /// locks and notifications are per database, so users of one server share them.)
    /// </summary>
    /// <param name="prefix">Start of the schema's name.</param>
    /// <param name="connectionOptions">Further options for this connection string (e.g. <c>Maximum Pool Size=50</c>).</param>
    public async Task<string> CreateSchemaAsync(string prefix, string? connectionOptions = null)
    {
        var name = $"{prefix}_{Interlocked.Increment(ref _schemas)}";
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync().ConfigureAwait(false);
        await using var command = new NpgsqlCommand($"CREATE SCHEMA \"{name}\"", connection);
        await command.ExecuteNonQueryAsync().ConfigureAwait(false);
        return $"{AdminConnectionString};Search Path={name}" + (connectionOptions is null ? string.Empty : ";" + connectionOptions);
    }

    /// <summary>Stops the server and deletes its directory.</summary>
    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        try
        {
            if (_started)
            {
                await RunServerToolAsync("pg_ctl", ["-D", DataDirectory, "-m", "immediate", "-w", "stop"]).ConfigureAwait(false);
            }
        }
        finally
        {
            if (Directory.Exists(_root))
            {
                Directory.Delete(_root, recursive: true);
            }
        }
    }

    private async Task InitializeAsync(IReadOnlyList<string> settings, bool asRoot)
    {
        Directory.CreateDirectory(_root);
        if (asRoot)
        {
            await RunAsync("chown", ["-R", $"{SuperUser}:{SuperUser}", _root], asPostgres: false).ConfigureAwait(false);
        }

        await RunServerToolAsync("initdb", ["-D", DataDirectory, "-U", SuperUser, "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions"]).ConfigureAwait(false);

        // A port picked free can be taken before the server binds it; try a few.
        Exception? last = null;
        for (var attempt = 0; attempt < 3 && !_started; attempt++)
        {
            Port = LoopbackPort.Free();
            try
            {
                var options = $"-p {Port} -k {_root} -c listen_addresses=127.0.0.1" + string.Concat(settings.Select(s => " -c " + s));
                await RunServerToolAsync("pg_ctl", ["-D", DataDirectory, "-l", Path.Combine(_root, "server.log"), "-w", "-t", "60", "-o", options, "start"]).ConfigureAwait(false);
                _started = true;
            }
            catch (InvalidOperationException e)
            {
                last = e;
            }
        }

        if (!_started)
        {
            var log = File.Exists(Path.Combine(_root, "server.log")) ? await File.ReadAllTextAsync(Path.Combine(_root, "server.log")).ConfigureAwait(false) : "(no log)";
            throw new InvalidOperationException($"Could not start a private PostgreSQL server. Server log:\n{log}", last);
        }

        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync().ConfigureAwait(false);
        await using var version = new NpgsqlCommand("SHOW server_version", connection);
        Version = $"PostgreSQL {await version.ExecuteScalarAsync().ConfigureAwait(false)}";
    }

    private static string FindBinDirectory()
    {
        const string root = "/usr/lib/postgresql";
        var candidates = Directory.Exists(root)
            ? Directory.GetDirectories(root)
                .Select(d => (Dir: Path.Combine(d, "bin"), Version: int.TryParse(Path.GetFileName(d), out var v) ? v : 0))
                .Where(c => File.Exists(Path.Combine(c.Dir, "initdb")) && File.Exists(Path.Combine(c.Dir, "pg_ctl")))
                .OrderByDescending(c => c.Version)
                .ToList()
            : [];
        return candidates.Count > 0
            ? candidates[0].Dir
            : throw new InvalidOperationException(
                "PostgreSQL server binaries (initdb, pg_ctl) were not found under /usr/lib/postgresql/<version>/bin. " +
                "The cluster tests and benchmarks need them: run `bash deploy/setup-debian.sh` (it installs the 'postgresql' package).");
    }

    private Task RunServerToolAsync(string tool, IReadOnlyList<string> arguments) =>
        RunAsync(Path.Combine(_binDirectory, tool), arguments, asPostgres: Environment.UserName == "root");

    private static async Task RunAsync(string fileName, IReadOnlyList<string> arguments, bool asPostgres)
    {
        var start = new ProcessStartInfo
        {
            FileName = asPostgres ? "runuser" : fileName,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = "/",
        };
        if (asPostgres)
        {
            foreach (var a in new[] { "-u", SuperUser, "--", fileName })
            {
                start.ArgumentList.Add(a);
            }
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        // Read both streams while waiting so a chatty tool cannot fill a pipe and block. pg_ctl -l hands the
        // server its own log file, so the server does not hold these pipes open.
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(s_commandTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{fileName} {string.Join(' ', arguments)} did not finish within {s_commandTimeout}.");
        }

        var output = await stdout.ConfigureAwait(false) + await stderr.ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{fileName} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{output}");
        }
    }
}
