using LoraGrains.Cluster.Storage;
using LoraGrains.Cluster.Tests.Infrastructure;

namespace LoraGrains.Cluster.Tests;

/// <summary>How the PostgreSQL provider configures its connections.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresDatabaseTests(PostgresServer server)
{
    [Fact]
    public async Task Statements_run_again_are_prepared_on_the_server_unless_the_connection_string_says_otherwise()
    {
        var connectionString = await server.CreateDatabaseAsync();
        // The queue's statements run on every claim; planning them each time doubled a claim's time.
        Assert.True(await PreparedAfterRepeatsAsync(connectionString) > 0, "a statement run 10 times on one connection was not prepared");
        Assert.Equal(0L, await PreparedAfterRepeatsAsync(connectionString + ";Max Auto Prepare=0"));
    }

    private static async Task<long> PreparedAfterRepeatsAsync(string connectionString)
    {
        await using var database = new PostgresClusterDatabase(connectionString);
        await using var connection = await database.OpenConnectionAsync(CancellationToken.None);
        for (var i = 0; i < 10; i++)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT 1 + 1";
            Assert.Equal(2, await command.ExecuteScalarAsync());
        }

        await using var count = connection.CreateCommand();
        count.CommandText = "SELECT COUNT(*) FROM pg_prepared_statements";
        return (long)(await count.ExecuteScalarAsync())!;
    }
}
