using System.Diagnostics;
using LoraGrains.Cluster.Runtime;
using Npgsql;

namespace LoraGrains.Cluster.Tests.Infrastructure;

/// <summary>
/// A throw-away PostgreSQL server for the test run: <c>initdb</c> into a temp directory, <c>pg_ctl start</c>
/// on a free loopback port with its socket in the same directory, stopped and deleted at the end.
/// PostgreSQL refuses to run as root, so under root (as in CI) the server binaries run as the
/// <c>postgres</c> OS user via <c>runuser</c>, in a directory it owns.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    private const string SuperUser = "postgres";
    private static readonly TimeSpan s_commandTimeout = TimeSpan.FromSeconds(60);

    private string _root = string.Empty;
    private string _dataDirectory = string.Empty;
    private string _binDirectory = string.Empty;
    private bool _started;
    private int _databases;

    /// <summary>Port the server listens on (127.0.0.1).</summary>
    public int Port { get; private set; }

    /// <summary>Connection string to the server's maintenance database.</summary>
    public string AdminConnectionString => ConnectionString("postgres");

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        _binDirectory = FindBinDirectory();
        var asRoot = Environment.UserName == "root";
        // The postgres user must be able to reach the directory: under root use /tmp, not a private TMPDIR.
        var tempBase = asRoot ? "/tmp" : Path.GetTempPath();
        _root = Path.Combine(tempBase, $"lg-pg-{Environment.ProcessId}-{Guid.NewGuid():N}");
        _dataDirectory = Path.Combine(_root, "data");
        Directory.CreateDirectory(_root);
        if (asRoot)
        {
            await RunAsync("chown", ["-R", $"{SuperUser}:{SuperUser}", _root], asPostgres: false).ConfigureAwait(false);
        }

        await RunServerToolAsync("initdb", ["-D", _dataDirectory, "-U", SuperUser, "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions"]).ConfigureAwait(false);

        // A port picked free can be taken before the server binds it; try a few.
        Exception? last = null;
        for (var attempt = 0; attempt < 3 && !_started; attempt++)
        {
            Port = LoopbackPort.Free();
            try
            {
                // fsync off: the tests check behaviour, not crash durability, and must stay fast on shared cores.
                var options = $"-p {Port} -k {_root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off " +
                              "-c full_page_writes=off -c max_connections=200 -c shared_buffers=32MB";
                await RunServerToolAsync("pg_ctl", ["-D", _dataDirectory, "-l", Path.Combine(_root, "server.log"), "-w", "-t", "60", "-o", options, "start"]).ConfigureAwait(false);
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
            throw new InvalidOperationException($"Could not start the test PostgreSQL server. Server log:\n{log}", last);
        }
    }

    /// <summary>
    /// Creates an empty, isolated database for one test and returns a connection string to it. It is a schema
    /// of the maintenance database, put first on the search path: as isolated for unqualified SQL as a database
    /// of its own, but made in milliseconds where CREATE DATABASE takes half a second. (Advisory locks are per
    /// database, so tests sharing it serialise on them; the PostgreSQL classes run one at a time anyway.)
    /// </summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = $"lg_test_{Interlocked.Increment(ref _databases)}";
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync().ConfigureAwait(false);
        await using var command = new NpgsqlCommand($"CREATE SCHEMA \"{name}\"", connection);
        await command.ExecuteNonQueryAsync().ConfigureAwait(false);
        return $"{AdminConnectionString};Search Path={name}";
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_started)
        {
            await RunServerToolAsync("pg_ctl", ["-D", _dataDirectory, "-m", "immediate", "-w", "stop"]).ConfigureAwait(false);
        }

        if (_root.Length > 0 && Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private string ConnectionString(string database) =>
        $"Host=127.0.0.1;Port={Port};Username={SuperUser};Database={database};Timeout=15;Command Timeout=30;Include Error Detail=true";

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
                "The cluster tests need them: run `bash deploy/setup-debian.sh` (it installs the 'postgresql' package).");
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
