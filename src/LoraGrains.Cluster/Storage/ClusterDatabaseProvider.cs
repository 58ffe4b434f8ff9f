namespace LoraGrains.Cluster.Storage;

/// <summary>The database engines the cluster state can live in.</summary>
public enum ClusterDatabaseProvider
{
    /// <summary>One SQLite file in a data directory: the embedded, single-process default.</summary>
    Sqlite,

    /// <summary>A PostgreSQL database shared by every silo of a cluster.</summary>
    PostgreSql,
}
