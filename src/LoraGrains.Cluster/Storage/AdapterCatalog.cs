using System.Data.Common;

namespace LoraGrains.Cluster.Storage;

/// <summary>
/// Adapter metadata, keyed by tenant and content hash. Registering is idempotent: the same content is the
/// same adapter, so a second upload refreshes the descriptive fields instead of creating a duplicate.
/// </summary>
public sealed class AdapterCatalog
{
    private const int MaxListItems = 256;
    private const int MaxFusionKeyBytes = 64 * 1024;
    private const string Columns =
        "tenant_id, content_hash, name, format, rank, targets, trigger_words, fusion_key, file_path, size_bytes, created_at";

    private readonly IClusterDatabase _database;
    private readonly TimeProvider _clock;

    internal AdapterCatalog(IClusterDatabase database, TimeProvider clock)
    {
        _database = database;
        _clock = clock;
    }

    /// <summary>Stores (or refreshes) an adapter's metadata and returns what is stored.</summary>
    /// <param name="adapter">The metadata; <see cref="AdapterRecord.CreatedAt"/> is ignored.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <exception cref="KeyNotFoundException">The tenant does not exist.</exception>
    public async Task<AdapterRecord> RegisterAsync(AdapterRecord adapter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        StorageKeys.TenantId(adapter.TenantId, "tenantId");
        StorageKeys.ContentHash(adapter.ContentHash, "contentHash");
        StorageKeys.Text(adapter.Name, "name", 256);
        StorageKeys.Text(adapter.Format, "format", 64);
        StorageKeys.Text(adapter.FilePath, "filePath", 4096);
        if (adapter.Rank is < 1 or > 4096)
        {
            throw new ArgumentException($"rank must be between 1 and 4096 (got {adapter.Rank}).", nameof(adapter));
        }

        if (adapter.SizeBytes < 0)
        {
            throw new ArgumentException($"sizeBytes must not be negative (got {adapter.SizeBytes}).", nameof(adapter));
        }

        if (adapter.Targets.Count > MaxListItems || adapter.TriggerWords.Count > MaxListItems)
        {
            throw new ArgumentException($"targets and triggerWords may hold at most {MaxListItems} items each.", nameof(adapter));
        }

        if (adapter.FusionKey is { Length: > MaxFusionKeyBytes } or { Length: 0 })
        {
            throw new ArgumentException($"fusionKey must be 1-{MaxFusionKeyBytes} bytes when present.", nameof(adapter));
        }

        await using var connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await _database.BeginWriteAsync(connection, null, cancellationToken).ConfigureAwait(false);
        await SessionStore.TenantExistsOrThrowAsync(connection, transaction, adapter.TenantId, cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand(transaction, $"""
            INSERT INTO adapters ({Columns})
            VALUES (@tenant, @hash, @name, @format, @rank, @targets, @triggers, @fusion_key, @path, @size, @now)
            ON CONFLICT (tenant_id, content_hash) DO UPDATE SET
                name = excluded.name, format = excluded.format, rank = excluded.rank, targets = excluded.targets,
                trigger_words = excluded.trigger_words, fusion_key = excluded.fusion_key,
                file_path = excluded.file_path, size_bytes = excluded.size_bytes
            RETURNING {Columns}
            """);
        command.AddParameter("tenant", adapter.TenantId).AddParameter("hash", adapter.ContentHash)
            .AddParameter("name", adapter.Name).AddParameter("format", adapter.Format).AddParameter("rank", adapter.Rank)
            .AddParameter("fusion_key", adapter.FusionKey).AddParameter("path", adapter.FilePath)
            .AddParameter("size", adapter.SizeBytes).AddParameter("now", _clock.GetUtcNow().ToUnixTimeMilliseconds());
        _database.AddJsonParameter(command, "targets", JsonInput.StringArray(adapter.Targets));
        _database.AddJsonParameter(command, "triggers", JsonInput.StringArray(adapter.TriggerWords));
        var stored = (await ReadAllAsync(command, cancellationToken).ConfigureAwait(false))[0];
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return stored;
    }

    /// <summary>Reads one adapter of a tenant, or <see langword="null"/>.</summary>
    /// <param name="tenantId">Owning tenant.</param>
    /// <param name="contentHash">The adapter's SHA-256.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public async Task<AdapterRecord?> GetAsync(string tenantId, string contentHash, CancellationToken cancellationToken = default)
    {
        StorageKeys.TenantId(tenantId);
        StorageKeys.ContentHash(contentHash, nameof(contentHash));
        await using var connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand(null, $"SELECT {Columns} FROM adapters WHERE tenant_id = @tenant AND content_hash = @hash");
        command.AddParameter("tenant", tenantId).AddParameter("hash", contentHash);
        var found = await ReadAllAsync(command, cancellationToken).ConfigureAwait(false);
        return found.Count == 0 ? null : found[0];
    }

    /// <summary>Lists a tenant's adapters by name.</summary>
    /// <param name="tenantId">Owning tenant.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public async Task<IReadOnlyList<AdapterRecord>> ListAsync(string tenantId, CancellationToken cancellationToken = default)
    {
        StorageKeys.TenantId(tenantId);
        await using var connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand(null, $"SELECT {Columns} FROM adapters WHERE tenant_id = @tenant ORDER BY name, content_hash");
        command.AddParameter("tenant", tenantId);
        return await ReadAllAsync(command, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Removes a tenant's adapter metadata; returns whether it existed. The file, shared by content hash, stays.</summary>
    /// <param name="tenantId">Owning tenant.</param>
    /// <param name="contentHash">The adapter's SHA-256.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    public async Task<bool> DeleteAsync(string tenantId, string contentHash, CancellationToken cancellationToken = default)
    {
        StorageKeys.TenantId(tenantId);
        StorageKeys.ContentHash(contentHash, nameof(contentHash));
        await using var connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand(null, "DELETE FROM adapters WHERE tenant_id = @tenant AND content_hash = @hash");
        command.AddParameter("tenant", tenantId).AddParameter("hash", contentHash);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    private static async Task<List<AdapterRecord>> ReadAllAsync(DbCommand command, CancellationToken cancellationToken)
    {
        var adapters = new List<AdapterRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            adapters.Add(new AdapterRecord(
                reader.GetString(0),
                reader.GetString(1),
                reader.GetString(2),
                reader.GetString(3),
                reader.GetInt32(4),
                JsonInput.ParseStringArray(reader.GetString(5)),
                JsonInput.ParseStringArray(reader.GetString(6)),
                reader.GetNullableBytes(7),
                reader.GetString(8),
                reader.GetInt64(9),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(10))));
        }

        return adapters;
    }
}
