using LoraGrains.Cluster.Membership;
using LoraGrains.Cluster.Queue;
using LoraGrains.Cluster.Tenancy;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LoraGrains.Cluster.Storage;

/// <summary>
/// Everything the cluster keeps in its database, behind one opened, migrated connection pool: the job
/// queue, silo membership, tenants and API keys, sessions and adapter metadata. One per process
/// (silo); the stores are thread-safe and hold no state of their own beyond the pool.
/// </summary>
public sealed class ClusterStore : IAsyncDisposable
{
    private ClusterStore(IClusterDatabase database, TimeProvider timeProvider)
    {
        Database = database;
        Jobs = new JobQueue(database, timeProvider);
        Membership = new MembershipTable(database, timeProvider);
        Tenants = new TenantDirectory(database, timeProvider);
        Sessions = new SessionStore(database, timeProvider);
        Adapters = new AdapterCatalog(database, timeProvider);
    }

    /// <summary>The underlying database.</summary>
    public IClusterDatabase Database { get; }

    /// <summary>The durable job queue.</summary>
    public JobQueue Jobs { get; }

    /// <summary>Silo registration, heartbeats and the live-silo list.</summary>
    public MembershipTable Membership { get; }

    /// <summary>Tenants, their weights and quotas, and their API keys.</summary>
    public TenantDirectory Tenants { get; }

    /// <summary>Session state with version-checked writes.</summary>
    public SessionStore Sessions { get; }

    /// <summary>Adapter metadata by tenant and content hash.</summary>
    public AdapterCatalog Adapters { get; }

    /// <summary>Opens the database the options describe and applies pending migrations before returning.</summary>
    /// <param name="options">Provider, location and clock.</param>
    /// <param name="loggerFactory">Logging for migrations; none when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels opening and migrating.</param>
    public static async Task<ClusterStore> OpenAsync(
        ClusterStoreOptions options, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var database = options.CreateDatabase();
        try
        {
            var logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger(typeof(SchemaMigrator));
            await SchemaMigrator.MigrateAsync(database, options.TimeProvider, logger, cancellationToken).ConfigureAwait(false);
            return new ClusterStore(database, options.TimeProvider);
        }
        catch
        {
            await database.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Closes the connection pool.</summary>
    public ValueTask DisposeAsync() => Database.DisposeAsync();
}
