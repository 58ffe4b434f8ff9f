namespace LoraGrains.Cluster.Storage;

/// <summary>One stored session: a tenant's long-lived generation context (what a SessionGrain persists).</summary>
/// <param name="TenantId">Owning tenant.</param>
/// <param name="SessionId">Session id, unique within the tenant.</param>
/// <param name="SettingsJson">Generation settings as a JSON object.</param>
/// <param name="AdapterSetJson">The session's adapter set as a JSON array.</param>
/// <param name="Version">Concurrency token: 1 on creation, +1 on every update; pass it back to update.</param>
/// <param name="CreatedAt">When the session was created.</param>
/// <param name="UpdatedAt">When it last changed.</param>
public sealed record SessionRecord(
    string TenantId,
    string SessionId,
    string SettingsJson,
    string AdapterSetJson,
    long Version,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);
