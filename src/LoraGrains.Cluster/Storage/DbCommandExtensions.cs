using System.Data.Common;

namespace LoraGrains.Cluster.Storage;

/// <summary>Small ADO.NET conveniences shared by the stores (both providers accept <c>@name</c> parameters).</summary>
internal static class DbCommandExtensions
{
    /// <summary>Creates a command on <paramref name="connection"/>, enlisted in <paramref name="transaction"/> if any.</summary>
    public static DbCommand CreateCommand(this DbConnection connection, DbTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    /// <summary>Adds a parameter; <see langword="null"/> becomes <see cref="DBNull"/>.</summary>
    public static DbCommand AddParameter(this DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
        return command;
    }

    /// <summary>Runs the command and returns the first column of the first row, or <see langword="default"/> when there is none.</summary>
    public static async Task<T?> ScalarAsync<T>(this DbCommand command, CancellationToken cancellationToken)
    {
        var value = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        if (value is null or DBNull)
        {
            return default;
        }

        // SQLite hands every integer back as Int64 and PostgreSQL's count(*) is bigint; convert to what the caller asked.
        return value is T typed ? typed : (T)Convert.ChangeType(value, Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Reads a nullable string column.</summary>
    public static string? GetNullableString(this DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    /// <summary>Reads a nullable 64-bit integer column.</summary>
    public static long? GetNullableInt64(this DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetInt64(ordinal);

    /// <summary>Reads a nullable 32-bit integer column.</summary>
    public static int? GetNullableInt32(this DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetInt32(ordinal);

    /// <summary>Reads a nullable binary column.</summary>
    public static byte[]? GetNullableBytes(this DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<byte[]>(ordinal);
}
