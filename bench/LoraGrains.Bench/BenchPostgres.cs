using System.Diagnostics;
using LoraGrains.Cluster.Runtime;
using Npgsql;

namespace LoraGrains.Bench;

/// <summary>
/// A private PostgreSQL server for the cluster benchmarks: <c>initdb</c> into a temp directory and <c>pg_ctl start</c> on a
/// free loopback port (as the cluster test fixture does); under root the server binaries run as the <c>postgres</c>
/// user via <c>runuser</c>, since PostgreSQL refuses root. fsync is off: the benchmarks measure the runtime's round trips
/// and CPU, not the disk. Stopped and deleted on dispose.
/// </summary>
internal sealed class BenchPostgres : IAsyncDisposable
{
    private const string SuperUser = "postgres";

    private readonly string _root;
    private readonly string _bin;
    private int _schemas;

    private BenchPostgres(string root, string bin, int port)
    {
        _root = root;
        _bin = bin;
        Port = port;
    }

    /// <summary>The server's loopback port.</summary>
    public int Port { get; }

    /// <summary>The server version line, for the report.</summary>
    public string Version { get; private set; } = "unknown";

    private string AdminConnectionString => $"Host=127.0.0.1;Port={Port};Username={SuperUser};Database=postgres;Timeout=15;Command Timeout=60";

    /// <summary>Creates and starts a server.</summary>
    public static async Task<BenchPostgres> StartAsync()
    {
        var bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "pg_ctl")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0).FirstOrDefault()
            : null;
        if (bin is null) throw new InvalidOperationException("PostgreSQL server binaries not found under /usr/lib/postgresql/<version>/bin (run deploy/setup-debian.sh)");
        var asRoot = Environment.UserName == "root";
        // The postgres user must reach the directory: under root use /tmp, not a private TMPDIR.
        var root = Path.Combine(asRoot ? "/tmp" : Path.GetTempPath(), $"lg-bench-pg-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(root);
        if (asRoot) await RunAsync("chown", ["-R", $"{SuperUser}:{SuperUser}", root], asPostgres: false);
        var data = Path.Combine(root, "data");
        await RunAsync(Path.Combine(bin, "initdb"), ["-D", data, "-U", SuperUser, "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions"], asRoot);
        var port = LoopbackPort.Free();
        var options = $"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200";
        await RunAsync(Path.Combine(bin, "pg_ctl"), ["-D", data, "-l", Path.Combine(root, "server.log"), "-w", "-t", "60", "-o", options, "start"], asRoot);
        var server = new BenchPostgres(root, bin, port);
        await using var connection = new NpgsqlConnection(server.AdminConnectionString);
        await connection.OpenAsync();
        await using var version = new NpgsqlCommand("SHOW server_version", connection);
        server.Version = $"PostgreSQL {await version.ExecuteScalarAsync()} (loopback, fsync off)";
        return server;
    }

    /// <summary>A fresh, empty schema first on the search path: a database of its own for one case.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = $"bench_{Interlocked.Increment(ref _schemas)}";
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE SCHEMA \"{name}\"", connection);
        await command.ExecuteNonQueryAsync();
        return $"{AdminConnectionString};Search Path={name};Maximum Pool Size=50";
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        try
        {
            await RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", Path.Combine(_root, "data"), "-m", "immediate", "-w", "stop"], Environment.UserName == "root");
        }
        finally
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private static async Task RunAsync(string program, IReadOnlyList<string> arguments, bool asPostgres)
    {
        var start = new ProcessStartInfo(asPostgres ? "runuser" : program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = "/",
        };
        if (asPostgres) foreach (var a in new[] { "-u", SuperUser, "--", program }) start.ArgumentList.Add(a);
        foreach (var a in arguments) start.ArgumentList.Add(a);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        // Both streams are read while waiting, so a chatty tool cannot block on a full pipe.
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{await stdout}{await stderr}");
    }
}
