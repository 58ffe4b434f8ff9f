namespace LoraGrains.Cluster.Storage;

/// <summary>Where the cluster state lives and how time is read.</summary>
public sealed class ClusterStoreOptions
{
    /// <summary>The engine; SQLite (embedded, single process) by default.</summary>
    public ClusterDatabaseProvider Provider { get; set; } = ClusterDatabaseProvider.Sqlite;

    /// <summary>SQLite only: directory of the <c>cluster.db</c> file.</summary>
    public string? DataDirectory { get; set; }

    /// <summary>PostgreSQL only: the Npgsql connection string.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// Clock for timestamps, leases and heartbeats. Silos compare each other's lease expiries and heartbeats,
    /// so their clocks should be NTP-synchronised; skew only delays or hastens a re-queue, it never lets a job
    /// complete twice (completion is guarded by the lease owner and status, not by time).
    /// </summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Builds the database these options describe.</summary>
    /// <exception cref="ArgumentException">The option the provider needs is missing.</exception>
    public IClusterDatabase CreateDatabase() => Provider switch
    {
        ClusterDatabaseProvider.Sqlite => new SqliteClusterDatabase(
            DataDirectory ?? throw new ArgumentException("ClusterStoreOptions.DataDirectory is required for the SQLite provider.", nameof(DataDirectory))),
        ClusterDatabaseProvider.PostgreSql => new PostgresClusterDatabase(
            ConnectionString ?? throw new ArgumentException("ClusterStoreOptions.ConnectionString is required for the PostgreSQL provider.", nameof(ConnectionString))),
        _ => throw new ArgumentOutOfRangeException(nameof(Provider), Provider, "Unknown cluster database provider."),
    };
}
