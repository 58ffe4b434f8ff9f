using System.Text.Json;
using System.Text.Json.Nodes;
using LoraGrains.Client;
using LoraGrains.Cluster.Runtime;
using LoraGrains.Cluster.Storage;

namespace LoraGrains.Cluster.Grains;

/// <summary>
/// A tenant's session (key <c>tenantId/sessionId</c>): default generation parameters and adapter set, persisted
/// through <see cref="SessionStore"/> with a version; a write against a stale version is refused
/// (<see cref="ConcurrencyConflictException"/>). The activation caches the last state it read or wrote.
/// </summary>
public sealed class SessionGrain(ClusterStore store) : Grain
{
    private SessionRecord? _cached;

    /// <summary>The grain key of a tenant's session.</summary>
    public static string KeyOf(string tenantId, string sessionId) => $"{tenantId}/{sessionId}";

    private string TenantId => Key[..Key.IndexOf('/', StringComparison.Ordinal)];

    private string SessionId => Key[(Key.IndexOf('/', StringComparison.Ordinal) + 1)..];

    /// <summary>The session, or <see langword="null"/> when the tenant has none with this id.</summary>
    public async Task<SessionRecord?> GetAsync(CancellationToken cancellationToken)
    {
        // Another silo may have written since: the database is the truth, the cache only saves parsing.
        var current = await store.Sessions.GetAsync(TenantId, SessionId, cancellationToken).ConfigureAwait(false);
        _cached = current;
        return current;
    }

    /// <summary>Creates the session at version 1.</summary>
    public async Task<SessionRecord> CreateAsync(JsonObject? settings, IReadOnlyList<SessionAdapterEntry>? adapters, CancellationToken cancellationToken)
    {
        var (settingsJson, adaptersJson) = Validate(settings, adapters);
        _cached = await store.Sessions.CreateAsync(TenantId, SessionId, settingsJson, adaptersJson, cancellationToken).ConfigureAwait(false);
        return _cached;
    }

    /// <summary>Writes new state if the session is still at <paramref name="expectedVersion"/>.</summary>
    /// <exception cref="ConcurrencyConflictException">It changed since.</exception>
    public async Task<SessionRecord> UpdateAsync(long expectedVersion, JsonObject? settings, IReadOnlyList<SessionAdapterEntry>? adapters, CancellationToken cancellationToken)
    {
        var current = _cached?.Version == expectedVersion ? _cached : await GetAsync(cancellationToken).ConfigureAwait(false)
            ?? throw new KeyNotFoundException($"session '{SessionId}' not found");
        var newSettings = settings ?? JsonNode.Parse(current.SettingsJson)!.AsObject();
        var newAdapters = adapters ?? JobRequestResolver.ParseAdapterSet(current.AdapterSetJson);
        var (settingsJson, adaptersJson) = Validate(newSettings, newAdapters);
        try
        {
            _cached = await store.Sessions.UpdateAsync(TenantId, SessionId, expectedVersion, settingsJson, adaptersJson, cancellationToken).ConfigureAwait(false);
        }
        catch (ConcurrencyConflictException)
        {
            _cached = null;
            throw;
        }

        return _cached;
    }

    /// <summary>The session's history: its most recent jobs, newest first.</summary>
    public async Task<IReadOnlyList<Queue.JobRecord>> HistoryAsync(int limit, CancellationToken cancellationToken)
    {
        if (await GetAsync(cancellationToken).ConfigureAwait(false) is null)
        {
            throw new KeyNotFoundException($"session '{SessionId}' not found");
        }

        return await store.Jobs.ListBySessionAsync(TenantId, SessionId, limit, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The API view of a stored session.</summary>
    public static SessionInfo ToInfo(SessionRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return new SessionInfo(
            record.SessionId,
            record.Version,
            JsonNode.Parse(record.SettingsJson)!.AsObject(),
            JobRequestResolver.ParseAdapterSet(record.AdapterSetJson),
            record.CreatedAt,
            record.UpdatedAt);
    }

    private static (string Settings, string Adapters) Validate(JsonObject? settings, IReadOnlyList<SessionAdapterEntry>? adapters)
    {
        var settingsJson = settings?.ToJsonString() ?? "{}";
        var parsed = JobRequestResolver.ParseSettings(settingsJson);
        if (parsed.SessionId is not null)
        {
            throw new ArgumentException("settings must not contain sessionId", "settings");
        }

        foreach (var a in parsed.Adapters ?? [])
        {
            StorageKeys.ContentHash(a?.Hash, "settings.adapters");
        }

        var list = adapters ?? [];
        if (list.Count > Diffusion.Pipeline.GenerationRequest.MaxAdapters)
        {
            throw new ArgumentException($"adapters may list at most {Diffusion.Pipeline.GenerationRequest.MaxAdapters} adapters (got {list.Count})", "adapters");
        }

        foreach (var a in list)
        {
            if (a is null)
            {
                throw new ArgumentException("adapters must not contain null entries", "adapters");
            }

            StorageKeys.ContentHash(a.Hash, "adapters");
            if (!double.IsFinite(a.Weight) || Math.Abs(a.Weight) > 10)
            {
                throw new ArgumentException($"adapters: weight of {a.Hash} must be between -10 and 10 (got {a.Weight})", "adapters");
            }
        }

        return (settingsJson, JsonSerializer.Serialize(list, LoraGrainsJson.Options));
    }
}
