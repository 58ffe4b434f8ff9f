using System.Data;
using System.Data.Common;
using Npgsql;
using NpgsqlTypes;

namespace LoraGrains.Cluster.Storage;

/// <summary>
/// The cluster database: PostgreSQL, shared by every silo. Connections come from one pooled
/// <see cref="NpgsqlDataSource"/>; write transactions are read committed, and work that must not
/// interleave across silos (applying migrations, choosing the next job fairly) holds a
/// transaction-scoped advisory lock named after it. Jobs that become claimable are announced with
/// <c>NOTIFY</c> on <see cref="JobsChannel"/>, which each silo hears on a connection of its own
/// (<see cref="OpenListenerAsync"/>).
/// </summary>
public sealed class PostgresClusterDatabase : IClusterDatabase
{
    private static readonly IReadOnlyList<SchemaMigration> s_migrations = SchemaMigration.LoadEmbedded("postgres");

    /// <summary>
    /// The channel on which jobs that became claimable are announced. Notifications are per database, so clusters
    /// sharing a database in different schemas wake each other needlessly (an empty claim), never wrongly.
    /// </summary>
    public const string JobsChannel = "loragrains_jobs";

    // The queue's statements are few and run constantly: prepared once per pooled connection they skip parsing and
    // planning on every claim. A connection string that sets its own value keeps it.
    private const int AutoPreparedStatements = 64;

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _connectionString;

    /// <summary>Connects with <paramref name="connectionString"/> (an Npgsql connection string).</summary>
    /// <param name="connectionString">e.g. <c>Host=db;Database=loragrains;Username=lg;Password=…</c>.</param>
    public PostgresClusterDatabase(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        // Asked of a plain builder: Npgsql's own says it contains every keyword it knows, set or not.
        var given = new DbConnectionStringBuilder { ConnectionString = connectionString };
        if (!given.ContainsKey("Max Auto Prepare") && !given.ContainsKey("MaxAutoPrepare"))
        {
            builder.ConnectionStringBuilder.MaxAutoPrepare = AutoPreparedStatements;
        }

        _dataSource = builder.Build();
        _connectionString = connectionString;
    }

    /// <inheritdoc />
    public ClusterDatabaseProvider Provider => ClusterDatabaseProvider.PostgreSql;

    /// <inheritdoc />
    public string ForUpdateSkipLocked => " FOR UPDATE SKIP LOCKED";

    /// <inheritdoc />
    public string NotifyJobsReady => "NOTIFY " + JobsChannel;

    /// <inheritdoc />
    public string NotifyJobsReadyWhen(string condition) => $"SELECT pg_notify('{JobsChannel}', '') WHERE {condition}";

    /// <inheritdoc />
    public string CommitStatement => "COMMIT";

    /// <inheritdoc />
    public IReadOnlyList<SchemaMigration> Migrations => s_migrations;

    /// <inheritdoc />
    public async ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public string LockStatement(string parameterName) => $"SELECT pg_advisory_xact_lock(hashtextextended(@{parameterName}, 0))";

    /// <inheritdoc />
    public async ValueTask<DbTransaction> BeginWriteAsync(DbConnection connection, string? lockName, CancellationToken cancellationToken)
    {
        var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken).ConfigureAwait(false);
        if (lockName is null)
        {
            return transaction;
        }

        try
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            // hashtextextended maps the name onto the 64-bit advisory lock space; a collision between two
            // names only serialises them needlessly, it cannot let two holders of one name in.
            command.CommandText = LockStatement("lock_name");
            command.AddParameter("lock_name", lockName);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return transaction;
        }
        catch
        {
            await transaction.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Opens a dedicated connection (outside the pool, whose reset would <c>UNLISTEN</c>) that listens on
    /// <see cref="JobsChannel"/>. It sends a keepalive query every few seconds, so a server or network that went away
    /// without closing the socket ends <see cref="NpgsqlConnection.WaitAsync(CancellationToken)"/> with an error
    /// instead of leaving it waiting forever.
    /// </summary>
    /// <param name="applicationName">Shown in <c>pg_stat_activity</c> (which silo's listener this is).</param>
    /// <param name="cancellationToken">Cancels opening.</param>
    public async Task<NpgsqlConnection> OpenListenerAsync(string applicationName, CancellationToken cancellationToken)
    {
        var settings = new NpgsqlConnectionStringBuilder(_connectionString)
        {
            Pooling = false,
            KeepAlive = 5,
            ApplicationName = applicationName,
        };
        var connection = new NpgsqlConnection(settings.ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var listen = new NpgsqlCommand("LISTEN " + JobsChannel, connection);
            await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc />
    public void AddJsonParameter(DbCommand command, string name, string json) =>
        // An untyped string parameter is sent as text, which PostgreSQL will not put into a jsonb column.
        command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Jsonb) { Value = json });

    /// <summary>Closes the pool.</summary>
    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
