using System.Data.Common;

namespace LoraGrains.Cluster.Storage;

/// <summary>
/// Sessions with optimistic concurrency: every update names the version it was based on, and the write
/// succeeds only if that is still the stored version (compare-and-set in one <c>UPDATE … WHERE version = @expected</c>).
/// A conflicting update is refused with <see cref="ConcurrencyConflictException"/>, so no write is ever lost
/// silently, and a duplicate grain activation can do no harm.
/// </summary>
public sealed class SessionStore
{
    /// <summary>Largest accepted settings document, in characters.</summary>
    public const int MaxSettingsChars = 64 * 1024;

    /// <summary>Largest accepted adapter-set document, in characters.</summary>
    public const int MaxAdapterSetChars = 64 * 1024;

    private const string Columns = "tenant_id, id, settings, adapters, version, created_at, updated_at";

    private readonly IClusterDatabase _database;
    private readonly TimeProvider _clock;

    internal SessionStore(IClusterDatabase database, TimeProvider clock)
    {
        _database = database;
        _clock = clock;
    }

    /// <summary>Reads a session, or <see langword="null"/> if the tenant has none with that id.</summary>
    /// <param name="tenantId">Owning tenant.</param>
    /// <param name="sessionId">Session id.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public async Task<SessionRecord?> GetAsync(string tenantId, string sessionId, CancellationToken cancellationToken = default)
    {
        StorageKeys.TenantId(tenantId);
        StorageKeys.Id(sessionId, nameof(sessionId));
        await using var connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand(null, $"SELECT {Columns} FROM sessions WHERE tenant_id = @tenant AND id = @id");
        command.AddParameter("tenant", tenantId).AddParameter("id", sessionId);
        return await ReadOneAsync(command, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Creates a session at version 1.</summary>
    /// <param name="tenantId">Owning tenant (must exist).</param>
    /// <param name="sessionId">Session id, unique within the tenant.</param>
    /// <param name="settingsJson">Settings as a JSON object.</param>
    /// <param name="adapterSetJson">Adapter set as a JSON array.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <exception cref="AlreadyExistsException">The tenant already has a session with that id.</exception>
    /// <exception cref="KeyNotFoundException">The tenant does not exist.</exception>
    public async Task<SessionRecord> CreateAsync(
        string tenantId, string sessionId, string settingsJson, string adapterSetJson, CancellationToken cancellationToken = default)
    {
        StorageKeys.TenantId(tenantId);
        StorageKeys.Id(sessionId, nameof(sessionId));
        JsonInput.Object(settingsJson, nameof(settingsJson), MaxSettingsChars);
        JsonInput.Array(adapterSetJson, nameof(adapterSetJson), MaxAdapterSetChars);
        var now = _clock.GetUtcNow().ToUnixTimeMilliseconds();

        await using var connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await _database.BeginWriteAsync(connection, null, cancellationToken).ConfigureAwait(false);
        await TenantExistsOrThrowAsync(connection, transaction, tenantId, cancellationToken).ConfigureAwait(false);

        await using var command = connection.CreateCommand(transaction, $"""
            INSERT INTO sessions ({Columns}) VALUES (@tenant, @id, @settings, @adapters, 1, @now, @now)
            ON CONFLICT (tenant_id, id) DO NOTHING
            RETURNING {Columns}
            """);
        command.AddParameter("tenant", tenantId).AddParameter("id", sessionId).AddParameter("now", now);
        _database.AddJsonParameter(command, "settings", settingsJson);
        _database.AddJsonParameter(command, "adapters", adapterSetJson);
        var created = await ReadOneAsync(command, cancellationToken).ConfigureAwait(false)
            ?? throw new AlreadyExistsException($"session '{tenantId}/{sessionId}'");
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return created;
    }

    /// <summary>
    /// Replaces the settings and adapter set if the stored version is still <paramref name="expectedVersion"/>,
    /// and returns the session at its new version.
    /// </summary>
    /// <param name="tenantId">Owning tenant.</param>
    /// <param name="sessionId">Session id.</param>
    /// <param name="expectedVersion">The version this change was based on.</param>
    /// <param name="settingsJson">New settings (JSON object).</param>
    /// <param name="adapterSetJson">New adapter set (JSON array).</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <exception cref="ConcurrencyConflictException">Another writer changed the session since <paramref name="expectedVersion"/>.</exception>
    /// <exception cref="KeyNotFoundException">The session does not exist.</exception>
    public async Task<SessionRecord> UpdateAsync(
        string tenantId, string sessionId, long expectedVersion, string settingsJson, string adapterSetJson,
        CancellationToken cancellationToken = default)
    {
        StorageKeys.TenantId(tenantId);
        StorageKeys.Id(sessionId, nameof(sessionId));
        JsonInput.Object(settingsJson, nameof(settingsJson), MaxSettingsChars);
        JsonInput.Array(adapterSetJson, nameof(adapterSetJson), MaxAdapterSetChars);
        var now = _clock.GetUtcNow().ToUnixTimeMilliseconds();

        await using var connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (var command = connection.CreateCommand(null, $"""
            UPDATE sessions SET settings = @settings, adapters = @adapters, version = version + 1, updated_at = @now
            WHERE tenant_id = @tenant AND id = @id AND version = @expected
            RETURNING {Columns}
            """))
        {
            command.AddParameter("tenant", tenantId).AddParameter("id", sessionId)
                .AddParameter("expected", expectedVersion).AddParameter("now", now);
            _database.AddJsonParameter(command, "settings", settingsJson);
            _database.AddJsonParameter(command, "adapters", adapterSetJson);
            var updated = await ReadOneAsync(command, cancellationToken).ConfigureAwait(false);
            if (updated is not null)
            {
                return updated;
            }
        }

        // The compare-and-set matched nothing: say why. This read is only for the message; the refusal
        // itself was decided atomically by the UPDATE above.
        await using var probe = connection.CreateCommand(null, "SELECT version FROM sessions WHERE tenant_id = @tenant AND id = @id");
        probe.AddParameter("tenant", tenantId).AddParameter("id", sessionId);
        var actual = await probe.ScalarAsync<long?>(cancellationToken).ConfigureAwait(false);
        throw actual is { } version
            ? new ConcurrencyConflictException($"session '{tenantId}/{sessionId}'", expectedVersion, version)
            : new KeyNotFoundException($"Tenant '{tenantId}' has no session '{sessionId}'.");
    }

    /// <summary>Deletes a session if it is still at <paramref name="expectedVersion"/>; returns whether it existed.</summary>
    /// <param name="tenantId">Owning tenant.</param>
    /// <param name="sessionId">Session id.</param>
    /// <param name="expectedVersion">The version the caller last saw.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <exception cref="ConcurrencyConflictException">The session changed since <paramref name="expectedVersion"/>.</exception>
    public async Task<bool> DeleteAsync(string tenantId, string sessionId, long expectedVersion, CancellationToken cancellationToken = default)
    {
        StorageKeys.TenantId(tenantId);
        StorageKeys.Id(sessionId, nameof(sessionId));
        await using var connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (var command = connection.CreateCommand(null,
            "DELETE FROM sessions WHERE tenant_id = @tenant AND id = @id AND version = @expected"))
        {
            command.AddParameter("tenant", tenantId).AddParameter("id", sessionId).AddParameter("expected", expectedVersion);
            if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1)
            {
                return true;
            }
        }

        await using var probe = connection.CreateCommand(null, "SELECT version FROM sessions WHERE tenant_id = @tenant AND id = @id");
        probe.AddParameter("tenant", tenantId).AddParameter("id", sessionId);
        return await probe.ScalarAsync<long?>(cancellationToken).ConfigureAwait(false) is { } version
            ? throw new ConcurrencyConflictException($"session '{tenantId}/{sessionId}'", expectedVersion, version)
            : false;
    }

    internal static async Task TenantExistsOrThrowAsync(
        DbConnection connection, DbTransaction? transaction, string tenantId, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand(transaction, "SELECT 1 FROM tenants WHERE id = @tenant");
        command.AddParameter("tenant", tenantId);
        if (await command.ScalarAsync<int?>(cancellationToken).ConfigureAwait(false) is null)
        {
            throw new KeyNotFoundException($"Tenant '{tenantId}' does not exist.");
        }
    }

    private static async Task<SessionRecord?> ReadOneAsync(DbCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        return new SessionRecord(
            reader.GetString(0),
            reader.GetString(1),
            reader.GetString(2),
            reader.GetString(3),
            reader.GetInt64(4),
            DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)),
            DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)));
    }
}
