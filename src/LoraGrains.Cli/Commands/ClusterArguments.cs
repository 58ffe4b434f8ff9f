using System.Globalization;
using LoraGrains.Cluster.Storage;

namespace LoraGrains.Cli.Commands;

/// <summary>Options shared by the cluster commands: where the cluster's database is, and durations.</summary>
internal static class ClusterArguments
{
    /// <summary>--postgres CONN selects PostgreSQL; otherwise SQLite in --data DIR (default ./data).</summary>
    public static (ClusterDatabaseProvider Provider, string? Connection, string DataDirectory) Database(Arguments args)
    {
        var postgres = args.String("postgres") ?? Environment.GetEnvironmentVariable("LORAGRAINS_POSTGRES");
        var data = args.String("data") ?? "data";
        return postgres is null
            ? (ClusterDatabaseProvider.Sqlite, null, data)
            : (ClusterDatabaseProvider.PostgreSql, postgres, data);
    }

    /// <summary>A duration: 500ms, 2s, 1.5m, or plain seconds.</summary>
    public static TimeSpan? Duration(Arguments args, string name)
    {
        var text = args.String(name);
        if (text is null) return null;
        var (number, unit) = text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], 0.001)
            : text.EndsWith('s') ? (text[..^1], 1.0)
            : text.EndsWith('m') ? (text[..^1], 60.0)
            : (text, 1.0);
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value <= 0 || !double.IsFinite(value))
            throw new UsageException($"--{name} must be a positive duration such as 500ms, 2s or 1m, got '{text}'");
        return TimeSpan.FromSeconds(value * unit);
    }

    /// <summary>A byte size: 1048576, 512k, 64m, 2g (0 too when <paramref name="allowZero"/>).</summary>
    public static long? Bytes(Arguments args, string name, bool allowZero = false)
    {
        var text = args.String(name);
        if (text is null) return null;
        var lower = text.ToLowerInvariant();
        var (number, scale) = lower.EndsWith('k') ? (lower[..^1], 1L << 10) : lower.EndsWith('m') ? (lower[..^1], 1L << 20) : lower.EndsWith('g') ? (lower[..^1], 1L << 30) : (lower, 1L);
        if (!long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < 0 || (value == 0 && !allowZero))
            throw new UsageException($"--{name} must be a {(allowZero ? "size (0 or more)" : "positive size")} such as 65536, 512k or 64m, got '{text}'");
        return value * scale;
    }
}
