using LoraGrains.Cluster.Queue;
using LoraGrains.Cluster.Storage;
using LoraGrains.Cluster.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace LoraGrains.Cluster.Tests;

/// <summary>Schema migrations and durability across restarts, run against both providers.</summary>
public abstract class MigrationTests(StoreTarget target) : StoreTestBase(target)
{
    [Fact]
    public async Task Migrations_are_recorded_and_running_them_again_changes_nothing()
    {
        var options = await NewDatabaseAsync();
        var store = await OpenAsync(options);
        var expected = store.Database.Migrations.Count;
        Assert.True(expected >= 1);
        Assert.Equal(0, await SchemaMigrator.MigrateAsync(store.Database, Clock, NullLogger.Instance, CancellationToken.None));
        await OpenAsync(options);
        Assert.Equal(expected, await CountMigrationRowsAsync(store.Database));
    }

    [Fact]
    public async Task Silos_starting_together_apply_each_migration_exactly_once()
    {
        var options = await NewDatabaseAsync();
        var databases = Enumerable.Range(0, 4).Select(_ => options.CreateDatabase()).ToList();
        try
        {
            var applied = await Task.WhenAll(databases.Select(db => Task.Run(() =>
                SchemaMigrator.MigrateAsync(db, Clock, NullLogger.Instance, CancellationToken.None))));
            Assert.Equal(databases[0].Migrations.Count, applied.Sum());
            Assert.Equal(databases[0].Migrations.Count, await CountMigrationRowsAsync(databases[0]));
        }
        finally
        {
            foreach (var db in databases)
            {
                await db.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task An_applied_migration_that_was_edited_is_refused_at_start_up()
    {
        var options = await NewDatabaseAsync();
        var store = await OpenAsync(options);
        await using (var connection = await store.Database.OpenConnectionAsync(CancellationToken.None))
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = "UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1";
            await command.ExecuteNonQueryAsync();
        }

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => ClusterStore.OpenAsync(options));
        Assert.Contains("was changed after it was applied", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task State_survives_closing_and_reopening_the_store()
    {
        var options = await NewDatabaseAsync();
        Guid jobId;
        string secret;
        await using (var before = await ClusterStore.OpenAsync(options))
        {
            await CreateTenantAsync(before, "acme", weight: 2);
            secret = (await before.Tenants.CreateApiKeyAsync("acme")).Secret;
            await before.Sessions.CreateAsync("acme", "s1", """{"steps":20}""", "[]");
            jobId = await before.Jobs.SubmitAsync(new JobSubmission("acme", "s1", """{"prompt":"x"}""", [], 3));
            var claimed = await before.Jobs.ClaimAsync("silo-1", [], TimeSpan.FromMinutes(1));
            await before.Jobs.SaveCheckpointAsync(claimed!.JobId, "silo-1", 3, new byte[] { 42 });
            await before.Membership.RegisterAsync("silo-1", "http://127.0.0.1:5000");
        }

        var after = await OpenAsync(options);
        Assert.Equal(2, (await after.Tenants.GetTenantAsync("acme"))?.Weight);
        Assert.Equal("acme", (await after.Tenants.AuthenticateAsync(secret))?.TenantId);
        Assert.Equal(1, (await after.Sessions.GetAsync("acme", "s1"))?.Version);
        var job = await after.Jobs.GetAsync("acme", jobId);
        Assert.Equal((JobStatus.Running, "silo-1", 3, "s1"), (job?.Status, job?.LeaseOwner, job?.CheckpointStep, job?.SessionId));
        Assert.NotNull(await after.Membership.GetAsync("silo-1"));

        // The silo died with the restart: its lease runs out and the job resumes elsewhere from its checkpoint.
        Clock.Advance(TimeSpan.FromMinutes(2));
        var resumed = await after.Jobs.ClaimAsync("silo-2", [], TimeSpan.FromMinutes(1));
        Assert.Equal(new byte[] { 42 }, resumed?.Checkpoint?.Data);
    }

    [Fact]
    public async Task Adapter_metadata_is_registered_idempotently_per_tenant()
    {
        var store = await NewStoreAsync();
        await CreateTenantAsync(store, "acme");
        await CreateTenantAsync(store, "globex");
        var hash = new string('c', 64);
        var adapter = new AdapterRecord("acme", hash, "watercolor", "kohya", 16, ["unet", "text_encoder"], ["wtrcolor style"],
            [0, 0, 128, 63], "/adapters/c.safetensors", 151_000_000, default);
        var stored = await store.Adapters.RegisterAsync(adapter);
        Assert.Equal(Clock.GetUtcNow(), stored.CreatedAt);
        Assert.Equal(adapter.Targets, stored.Targets);

        Clock.Advance(TimeSpan.FromMinutes(1));
        var renamed = await store.Adapters.RegisterAsync(adapter with { Name = "watercolor v2" });
        Assert.Equal(stored.CreatedAt, renamed.CreatedAt);
        var listed = Assert.Single(await store.Adapters.ListAsync("acme"));
        Assert.Equal("watercolor v2", listed.Name);
        Assert.Equal(new byte[] { 0, 0, 128, 63 }, listed.FusionKey);
        Assert.Equal(["wtrcolor style"], listed.TriggerWords);
        Assert.Null(await store.Adapters.GetAsync("globex", hash));
        Assert.Empty(await store.Adapters.ListAsync("globex"));
        await Assert.ThrowsAsync<ArgumentException>(() => store.Adapters.RegisterAsync(adapter with { Rank = 0 }));
        await Assert.ThrowsAsync<ArgumentException>(() => store.Adapters.RegisterAsync(adapter with { ContentHash = "ABC" }));
    }

    private static async Task<long> CountMigrationRowsAsync(IClusterDatabase database)
    {
        await using var connection = await database.OpenConnectionAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM schema_migrations";
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}

/// <summary>Migrations and restarts on SQLite.</summary>
public sealed class SqliteMigrationTests() : MigrationTests(new SqliteTarget());

/// <summary>Migrations and restarts on PostgreSQL.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresMigrationTests(PostgresServer server) : MigrationTests(new PostgresTarget(server));
