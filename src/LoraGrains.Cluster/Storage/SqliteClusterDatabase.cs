using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace LoraGrains.Cluster.Storage;

/// <summary>
/// The embedded single-process database: one SQLite file, <c>cluster.db</c>, in a data directory.
/// Write-ahead logging lets readers run beside the one writer; every write transaction is
/// <c>BEGIN IMMEDIATE</c>, and <c>synchronous=FULL</c> makes a committed write survive a power cut,
/// which is what "a job is acknowledged only once it is on disk" needs.
/// </summary>
public sealed class SqliteClusterDatabase : IClusterDatabase
{
    /// <summary>The database file's name inside the data directory.</summary>
    public const string FileName = "cluster.db";

    // How long a writer waits for another writer (SQLite's own busy handler, which backs off in
    // milliseconds, rather than the driver's retry loop, which sleeps far longer between tries).
    private const int BusyTimeoutMilliseconds = 30_000;

    private static readonly IReadOnlyList<SchemaMigration> s_migrations = SchemaMigration.LoadEmbedded("sqlite");

    private readonly string _connectionString;

    /// <summary>Uses (creating if needed) <c>cluster.db</c> in <paramref name="dataDirectory"/>.</summary>
    /// <param name="dataDirectory">Directory for the database file; created when missing.</param>
    public SqliteClusterDatabase(string dataDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataDirectory);
        Directory.CreateDirectory(dataDirectory);
        FilePath = Path.GetFullPath(Path.Combine(dataDirectory, FileName));
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = FilePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            ForeignKeys = true,
            DefaultTimeout = BusyTimeoutMilliseconds / 1000,
        }.ToString();
    }

    /// <summary>Full path of the database file.</summary>
    public string FilePath { get; }

    /// <inheritdoc />
    public ClusterDatabaseProvider Provider => ClusterDatabaseProvider.Sqlite;

    /// <inheritdoc />
    public string ForUpdateSkipLocked => string.Empty;

    /// <inheritdoc />
    public string NotifyJobsReady => string.Empty;

    /// <inheritdoc />
    public string NotifyJobsReadyWhen(string condition) => string.Empty;

    /// <inheritdoc />
    public string CommitStatement => string.Empty;

    /// <inheritdoc />
    public IReadOnlyList<SchemaMigration> Migrations => s_migrations;

    /// <inheritdoc />
    public async ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            // Per-connection settings: a pooled connection keeps them, but re-applying costs microseconds
            // and cannot be forgotten. WAL is a property of the file; setting it again is a no-op.
            using var command = connection.CreateCommand();
            command.CommandText =
                $"PRAGMA busy_timeout = {BusyTimeoutMilliseconds}; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;";
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc />
    public string LockStatement(string parameterName) => string.Empty;

    /// <inheritdoc />
    public ValueTask<DbTransaction> BeginWriteAsync(DbConnection connection, string? lockName, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        // deferred: false is BEGIN IMMEDIATE: the write lock is taken now (waiting up to busy_timeout),
        // so a transaction that reads before it writes cannot deadlock against another one. The whole
        // database is the lock, which makes named locks unnecessary here.
        return ValueTask.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(deferred: false));
    }

    /// <inheritdoc />
    public void AddJsonParameter(DbCommand command, string name, string json) => command.AddParameter(name, json);

    /// <summary>Returns pooled connections to the OS so the file can be moved or deleted.</summary>
    public ValueTask DisposeAsync()
    {
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
        return ValueTask.CompletedTask;
    }
}
