using System.Data.Common;
using LoraGrains.Cluster.Storage;

namespace LoraGrains.Cluster.Tests.Infrastructure;

/// <summary>Where a behaviour suite's databases come from: one provider, a fresh database per call.</summary>
public abstract class StoreTarget : IAsyncDisposable
{
    /// <summary>The provider under test.</summary>
    public abstract ClusterDatabaseProvider Provider { get; }

    /// <summary>Options for a new, empty database (every store opened with them shares that database).</summary>
    public abstract Task<ClusterStoreOptions> CreateDatabaseAsync();

    /// <inheritdoc />
    public virtual ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>Every value of every row of every table, as text (binary values as UTF-8 and as hex), for "is X stored anywhere" checks.</summary>
    public static async Task<List<string>> DumpAllValuesAsync(IClusterDatabase database)
    {
        var listTables = database.Provider == ClusterDatabaseProvider.Sqlite
            ? "SELECT name FROM sqlite_master WHERE type = 'table'"
            : "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()";
        var values = new List<string>();
        await using var connection = await database.OpenConnectionAsync(CancellationToken.None);
        var tables = new List<string>();
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = listTables;
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                tables.Add(reader.GetString(0));
            }
        }

        foreach (var table in tables)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT * FROM \"{table}\"";
            await using DbDataReader reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                for (var i = 0; i < reader.FieldCount; i++)
                {
                    switch (reader.GetValue(i))
                    {
                        case DBNull:
                            break;
                        case byte[] bytes:
                            values.Add(System.Text.Encoding.UTF8.GetString(bytes));
                            values.Add(Convert.ToHexStringLower(bytes));
                            break;
                        case var other:
                            values.Add(Convert.ToString(other, System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty);
                            break;
                    }
                }
            }
        }

        return values;
    }
}
