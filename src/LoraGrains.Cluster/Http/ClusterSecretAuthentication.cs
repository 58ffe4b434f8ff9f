using System.Security.Cryptography;
using System.Text;
using LoraGrains.Cluster.Runtime;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace LoraGrains.Cluster.Http;

/// <summary>Endpoint filter of silo-to-silo endpoints: the <c>X-Cluster-Secret</c> header must equal the cluster secret (constant-time compare).</summary>
public sealed class ClusterSecretAuthentication(IOptions<SiloOptions> options) : IEndpointFilter
{
    /// <summary>The header that carries the secret.</summary>
    public const string Header = "X-Cluster-Secret";

    private readonly byte[]? _secretHash = options.Value.ClusterSecret is { Length: > 0 } s ? SHA256.HashData(Encoding.UTF8.GetBytes(s)) : null;

    /// <inheritdoc />
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var presented = context.HttpContext.Request.Headers[Header].ToString();
        // Hash both sides so the comparison takes the same time whatever the lengths.
        var ok = _secretHash is not null && presented.Length > 0
            && CryptographicOperations.FixedTimeEquals(_secretHash, SHA256.HashData(Encoding.UTF8.GetBytes(presented)));
        if (!ok)
        {
            throw new HttpApiException(401, "silo-to-silo endpoint: missing or wrong cluster secret");
        }

        return await next(context).ConfigureAwait(false);
    }
}
