using LoraGrains.Cluster.Storage;

namespace LoraGrains.Cluster.Tests.Infrastructure;

/// <summary>PostgreSQL databases, each created fresh on the shared test server.</summary>
public sealed class PostgresTarget(PostgresServer server) : StoreTarget
{
    /// <inheritdoc />
    public override ClusterDatabaseProvider Provider => ClusterDatabaseProvider.PostgreSql;

    /// <inheritdoc />
    public override async Task<ClusterStoreOptions> CreateDatabaseAsync() => new()
    {
        Provider = ClusterDatabaseProvider.PostgreSql,
        ConnectionString = await server.CreateDatabaseAsync(),
    };
}
