namespace LoraGrains.Cluster.Tenancy;

/// <summary>An API key as listed to its tenant: never the secret.</summary>
/// <param name="KeyId">Public identifier.</param>
/// <param name="CreatedAt">When it was issued.</param>
/// <param name="RevokedAt">When it was revoked, or <see langword="null"/> while it is valid.</param>
public sealed record ApiKeyInfo(string KeyId, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);
