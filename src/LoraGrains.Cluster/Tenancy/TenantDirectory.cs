using System.Security.Cryptography;
using LoraGrains.Cluster.Storage;

namespace LoraGrains.Cluster.Tenancy;

/// <summary>
/// Tenants and their API keys. Keys are issued once (the caller gets the token, the database a hash),
/// checked in constant time, and revoked by id.
/// </summary>
public sealed class TenantDirectory
{
    /// <summary>Largest accepted weight; keeps the fair-share arithmetic well inside double precision.</summary>
    public const int MaxWeight = 10_000;

    /// <summary>Largest accepted quota.</summary>
    public const int MaxQuota = 1_000_000;

    // Compared against when the key id is unknown, so that an unknown id costs the same hash and compare as a wrong secret.
    private static readonly byte[] s_decoyHash = SHA256.HashData([0]);

    private readonly IClusterDatabase _database;
    private readonly TimeProvider _clock;

    internal TenantDirectory(IClusterDatabase database, TimeProvider clock)
    {
        _database = database;
        _clock = clock;
    }

    /// <summary>Creates a tenant.</summary>
    /// <param name="tenant">Id, name, weight and quotas (<see cref="Tenant.CreatedAt"/> is ignored).</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <exception cref="AlreadyExistsException">A tenant with that id exists.</exception>
    public async Task<Tenant> CreateTenantAsync(Tenant tenant, CancellationToken cancellationToken = default)
    {
        Validate(tenant);
        var now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
        await using var connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand(null, """
            INSERT INTO tenants (id, name, weight, max_running_jobs, max_queued_jobs, created_at)
            VALUES (@id, @name, @weight, @max_running, @max_queued, @now)
            ON CONFLICT (id) DO NOTHING
            """);
        command.AddParameter("id", tenant.Id).AddParameter("name", tenant.Name).AddParameter("weight", tenant.Weight)
            .AddParameter("max_running", tenant.MaxRunningJobs).AddParameter("max_queued", tenant.MaxQueuedJobs).AddParameter("now", now);
        if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
        {
            throw new AlreadyExistsException($"tenant '{tenant.Id}'");
        }

        return tenant with { CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(now) };
    }

    /// <summary>Changes a tenant's name, weight and quotas; a new weight applies from its next claim.</summary>
    /// <param name="tenant">The new values, by id.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <exception cref="KeyNotFoundException">The tenant does not exist.</exception>
    public async Task UpdateTenantAsync(Tenant tenant, CancellationToken cancellationToken = default)
    {
        Validate(tenant);
        await using var connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand(null, """
            UPDATE tenants SET name = @name, weight = @weight, max_running_jobs = @max_running, max_queued_jobs = @max_queued
            WHERE id = @id
            """);
        command.AddParameter("id", tenant.Id).AddParameter("name", tenant.Name).AddParameter("weight", tenant.Weight)
            .AddParameter("max_running", tenant.MaxRunningJobs).AddParameter("max_queued", tenant.MaxQueuedJobs);
        if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
        {
            throw new KeyNotFoundException($"Tenant '{tenant.Id}' does not exist.");
        }
    }

    /// <summary>Reads a tenant, or <see langword="null"/>.</summary>
    /// <param name="tenantId">Tenant id.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public async Task<Tenant?> GetTenantAsync(string tenantId, CancellationToken cancellationToken = default)
    {
        StorageKeys.TenantId(tenantId);
        await using var connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand(null,
            "SELECT id, name, weight, max_running_jobs, max_queued_jobs, created_at FROM tenants WHERE id = @id");
        command.AddParameter("id", tenantId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        return new Tenant(reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.GetInt32(3), reader.GetInt32(4),
            DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)));
    }

    /// <summary>Issues a new API key for a tenant. The returned token is the only copy of the secret.</summary>
    /// <param name="tenantId">The tenant the key will authenticate as.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <exception cref="KeyNotFoundException">The tenant does not exist.</exception>
    public async Task<IssuedApiKey> CreateApiKeyAsync(string tenantId, CancellationToken cancellationToken = default)
    {
        StorageKeys.TenantId(tenantId);
        var (keyId, token, secretHash) = ApiKeyToken.Create();
        await using var connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await _database.BeginWriteAsync(connection, null, cancellationToken).ConfigureAwait(false);
        await SessionStore.TenantExistsOrThrowAsync(connection, transaction, tenantId, cancellationToken).ConfigureAwait(false);
        await using (var command = connection.CreateCommand(transaction,
            "INSERT INTO api_keys (key_id, tenant_id, secret_sha256, created_at) VALUES (@key_id, @tenant, @hash, @now)"))
        {
            command.AddParameter("key_id", keyId).AddParameter("tenant", tenantId).AddParameter("hash", secretHash)
                .AddParameter("now", _clock.GetUtcNow().ToUnixTimeMilliseconds());
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new IssuedApiKey(tenantId, keyId, token);
    }

    /// <summary>
    /// Checks a presented token; returns who it authenticates as, or <see langword="null"/> for a malformed,
    /// unknown, wrong or revoked key (the caller cannot tell which, by design).
    /// </summary>
    /// <param name="presentedToken">The token from the request.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public async Task<ApiKeyIdentity?> AuthenticateAsync(string? presentedToken, CancellationToken cancellationToken = default)
    {
        if (!ApiKeyToken.TryParse(presentedToken, out var keyId, out var secret))
        {
            return null;
        }

        string? tenantId = null;
        byte[]? storedHash = null;
        var revoked = true;
        await using (var connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false))
        await using (var command = connection.CreateCommand(null, "SELECT tenant_id, secret_sha256, revoked_at FROM api_keys WHERE key_id = @key_id"))
        {
            command.AddParameter("key_id", keyId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                tenantId = reader.GetString(0);
                storedHash = reader.GetFieldValue<byte[]>(1);
                revoked = !reader.IsDBNull(2);
            }
        }

        // Always hash and compare, in constant time, so the response time does not reveal how much of the
        // secret matched, nor whether the key id exists.
        var matches = CryptographicOperations.FixedTimeEquals(ApiKeyToken.Hash(secret), storedHash ?? s_decoyHash);
        return matches && storedHash is not null && !revoked ? new ApiKeyIdentity(tenantId!, keyId) : null;
    }

    /// <summary>Revokes a key; returns whether a valid key was revoked. Takes effect on the next authentication.</summary>
    /// <param name="tenantId">The key's tenant (a tenant can revoke only its own keys).</param>
    /// <param name="keyId">The key id.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    public async Task<bool> RevokeApiKeyAsync(string tenantId, string keyId, CancellationToken cancellationToken = default)
    {
        StorageKeys.TenantId(tenantId);
        StorageKeys.Id(keyId, nameof(keyId));
        await using var connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand(null,
            "UPDATE api_keys SET revoked_at = @now WHERE key_id = @key_id AND tenant_id = @tenant AND revoked_at IS NULL");
        command.AddParameter("key_id", keyId).AddParameter("tenant", tenantId).AddParameter("now", _clock.GetUtcNow().ToUnixTimeMilliseconds());
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <summary>Lists a tenant's keys, newest first, without secrets.</summary>
    /// <param name="tenantId">The tenant.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public async Task<IReadOnlyList<ApiKeyInfo>> ListApiKeysAsync(string tenantId, CancellationToken cancellationToken = default)
    {
        StorageKeys.TenantId(tenantId);
        await using var connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand(null,
            "SELECT key_id, created_at, revoked_at FROM api_keys WHERE tenant_id = @tenant ORDER BY created_at DESC, key_id");
        command.AddParameter("tenant", tenantId);
        var keys = new List<ApiKeyInfo>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            keys.Add(new ApiKeyInfo(reader.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)),
                reader.GetNullableInt64(2) is { } revoked ? DateTimeOffset.FromUnixTimeMilliseconds(revoked) : null));
        }

        return keys;
    }

    private static void Validate(Tenant tenant)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        StorageKeys.TenantId(tenant.Id, "id");
        StorageKeys.Text(tenant.Name, "name", 256);
        if (tenant.Weight is < 1 or > MaxWeight)
        {
            throw new ArgumentException($"weight must be between 1 and {MaxWeight} (got {tenant.Weight}).", nameof(tenant));
        }

        if (tenant.MaxRunningJobs is < 1 or > MaxQuota || tenant.MaxQueuedJobs is < 1 or > MaxQuota)
        {
            throw new ArgumentException(
                $"maxRunningJobs and maxQueuedJobs must be between 1 and {MaxQuota} (got {tenant.MaxRunningJobs} and {tenant.MaxQueuedJobs}).", nameof(tenant));
        }
    }
}
