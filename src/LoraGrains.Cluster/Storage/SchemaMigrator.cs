using System.Data.Common;
using Microsoft.Extensions.Logging;

namespace LoraGrains.Cluster.Storage;

/// <summary>
/// Brings a database up to this build's schema at start-up. All pending scripts run in one transaction
/// that first takes the migration lock (a PostgreSQL advisory lock; SQLite's write lock), so silos that
/// start together apply each script exactly once and the losers find nothing left to do. Each applied
/// script is recorded in <c>schema_migrations</c> with its checksum.
/// </summary>
public static partial class SchemaMigrator
{
    internal const string LockName = "loragrains.cluster.migrations";

    private const string CreateTableSql = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version     integer NOT NULL PRIMARY KEY,
            name        text    NOT NULL,
            checksum    text    NOT NULL,
            applied_at  bigint  NOT NULL
        )
        """;

    /// <summary>Applies every migration the database lacks; returns how many were applied.</summary>
    /// <param name="database">The database to migrate.</param>
    /// <param name="timeProvider">Clock for <c>applied_at</c>.</param>
    /// <param name="logger">Receives one line per applied script.</param>
    /// <param name="cancellationToken">Cancels the wait for the lock or the migration (which then rolls back).</param>
    /// <exception cref="InvalidOperationException">An applied script differs from the one in this build.</exception>
    public static async Task<int> MigrateAsync(
        IClusterDatabase database, TimeProvider timeProvider, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);

        await using var connection = await database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await database.BeginWriteAsync(connection, LockName, cancellationToken).ConfigureAwait(false);

        await using (var create = connection.CreateCommand(transaction, CreateTableSql))
        {
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        var applied = await ReadAppliedAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        var count = 0;
        foreach (var migration in database.Migrations)
        {
            if (applied.TryGetValue(migration.Version, out var checksum))
            {
                if (!string.Equals(checksum, migration.Checksum, StringComparison.Ordinal))
                {
                    throw new InvalidOperationException(
                        $"Migration {migration.Version:D4}_{migration.Name} was changed after it was applied to this database " +
                        $"(recorded checksum {checksum}, this build has {migration.Checksum}); add a new migration instead of editing an applied one.");
                }

                continue;
            }

            await using (var script = connection.CreateCommand(transaction, migration.Sql))
            {
                await script.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await using (var record = connection.CreateCommand(transaction,
                "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (@version, @name, @checksum, @applied_at)"))
            {
                record.AddParameter("version", migration.Version)
                    .AddParameter("name", migration.Name)
                    .AddParameter("checksum", migration.Checksum)
                    .AddParameter("applied_at", timeProvider.GetUtcNow().ToUnixTimeMilliseconds());
                await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            LogApplied(logger, database.Provider, migration.Version, migration.Name);
            count++;
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return count;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Applied {Provider} schema migration {Version:D4}_{Name}")]
    private static partial void LogApplied(ILogger logger, ClusterDatabaseProvider provider, int version, string name);

    private static async Task<Dictionary<int, string>> ReadAppliedAsync(
        DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        var applied = new Dictionary<int, string>();
        await using var command = connection.CreateCommand(transaction, "SELECT version, checksum FROM schema_migrations");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            applied[reader.GetInt32(0)] = reader.GetString(1);
        }

        return applied;
    }
}
