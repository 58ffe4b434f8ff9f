using System.Data;
using System.Data.Common;
using Npgsql;
using NpgsqlTypes;

namespace LoraGrains.Cluster.Storage;

/// <summary>
/// The cluster database: PostgreSQL, shared by every silo. Connections come from one pooled
/// <see cref="NpgsqlDataSource"/>; write transactions are read committed, and work that must not
/// interleave across silos (applying migrations, choosing the next job fairly) holds a
/// transaction-scoped advisory lock named after it.
/// </summary>
public sealed class PostgresClusterDatabase : IClusterDatabase
{
    private static readonly IReadOnlyList<SchemaMigration> s_migrations = SchemaMigration.LoadEmbedded("postgres");

    private readonly NpgsqlDataSource _dataSource;

    /// <summary>Connects with <paramref name="connectionString"/> (an Npgsql connection string).</summary>
    /// <param name="connectionString">e.g. <c>Host=db;Database=loragrains;Username=lg;Password=…</c>.</param>
    public PostgresClusterDatabase(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        _dataSource = NpgsqlDataSource.Create(connectionString);
    }

    /// <inheritdoc />
    public ClusterDatabaseProvider Provider => ClusterDatabaseProvider.PostgreSql;

    /// <inheritdoc />
    public string ForUpdateSkipLocked => " FOR UPDATE SKIP LOCKED";

    /// <inheritdoc />
    public IReadOnlyList<SchemaMigration> Migrations => s_migrations;

    /// <inheritdoc />
    public async ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

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
            command.CommandText = "SELECT pg_advisory_xact_lock(hashtextextended(@lock_name, 0))";
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

    /// <inheritdoc />
    public void AddJsonParameter(DbCommand command, string name, string json) =>
        // An untyped string parameter is sent as text, which PostgreSQL will not put into a jsonb column.
        command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Jsonb) { Value = json });

    /// <summary>Closes the pool.</summary>
    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
