namespace LoraGrains.Cluster.Tenancy;

/// <summary>Who a presented API key authenticates as.</summary>
/// <param name="TenantId">The tenant.</param>
/// <param name="KeyId">The key that was used.</param>
public sealed record ApiKeyIdentity(string TenantId, string KeyId);
