using LoraGrains.Testing;

namespace LoraGrains.Cluster.Tests.Infrastructure;

/// <summary>The test run's private PostgreSQL server (<see cref="PrivatePostgres"/>), shared by the PostgreSQL test classes.</summary>
public sealed class PostgresServer : IAsyncLifetime
{
    // fsync and synchronous commit off: the tests check behaviour, not crash durability, and must stay fast on shared cores.
    private static readonly string[] s_settings = ["fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=200", "shared_buffers=32MB"];

    private PrivatePostgres? _server;

    private PrivatePostgres Server => _server ?? throw new InvalidOperationException("the test PostgreSQL server is not started");

    /// <summary>Port the server listens on (127.0.0.1).</summary>
    public int Port => Server.Port;

    /// <summary>Connection string to the server's maintenance database.</summary>
    public string AdminConnectionString => Server.AdminConnectionString;

    /// <inheritdoc />
    public async Task InitializeAsync() =>
        _server = await PrivatePostgres.StartAsync(s_settings, "Command Timeout=30;Include Error Detail=true").ConfigureAwait(false);

    /// <summary>
    /// An empty, isolated database for one test: a schema of the maintenance database first on the search path
    /// (see <see cref="PrivatePostgres.CreateSchemaAsync"/>; the PostgreSQL classes run one at a time).
    /// </summary>
    public Task<string> CreateDatabaseAsync() => Server.CreateSchemaAsync("lg_test");

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync().ConfigureAwait(false);
        }
    }
}
