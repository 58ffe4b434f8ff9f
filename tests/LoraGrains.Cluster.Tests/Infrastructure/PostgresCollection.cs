namespace LoraGrains.Cluster.Tests.Infrastructure;

/// <summary>All PostgreSQL-backed test classes share one server (started once per run).</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "postgres";
}
