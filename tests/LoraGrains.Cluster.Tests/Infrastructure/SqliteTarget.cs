using LoraGrains.Cluster.Storage;

namespace LoraGrains.Cluster.Tests.Infrastructure;

/// <summary>SQLite databases, each in its own data directory under one temp root deleted at the end.</summary>
public sealed class SqliteTarget : StoreTarget
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"lg-sqlite-{Guid.NewGuid():N}");

    /// <inheritdoc />
    public override ClusterDatabaseProvider Provider => ClusterDatabaseProvider.Sqlite;

    /// <inheritdoc />
    public override Task<ClusterStoreOptions> CreateDatabaseAsync() => Task.FromResult(new ClusterStoreOptions
    {
        Provider = ClusterDatabaseProvider.Sqlite,
        DataDirectory = Path.Combine(_root, Guid.NewGuid().ToString("N")),
    });

    /// <inheritdoc />
    public override ValueTask DisposeAsync()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }

        return base.DisposeAsync();
    }
}
