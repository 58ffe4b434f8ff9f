namespace LoraGrains.Cluster.Tenancy;

/// <summary>
/// A newly created API key. <see cref="Secret"/> is the full token to hand to the client, exactly once:
/// the database keeps only its key id and a SHA-256 of its secret part, so it cannot be shown again.
/// </summary>
/// <param name="TenantId">The tenant the key authenticates as.</param>
/// <param name="KeyId">Public identifier of the key (safe to log and list; used to revoke it).</param>
/// <param name="Secret">The token, <c>lg_{keyId}.{secret}</c>.</param>
public sealed record IssuedApiKey(string TenantId, string KeyId, string Secret)
{
    /// <summary>Keeps the secret out of logs and debugger displays.</summary>
    public override string ToString() => $"IssuedApiKey {{ TenantId = {TenantId}, KeyId = {KeyId} }}";
}
