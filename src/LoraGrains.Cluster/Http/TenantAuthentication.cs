using LoraGrains.Cluster.Storage;
using Microsoft.AspNetCore.Http;

namespace LoraGrains.Cluster.Http;

/// <summary>
/// Endpoint filter of the tenant API: <c>Authorization: Bearer lg_…</c> checked against the hashed keys; the
/// tenant id is put in <see cref="HttpContext.Items"/> for the handlers (see <see cref="TenantOf"/>).
/// </summary>
public sealed class TenantAuthentication(ClusterStore store) : IEndpointFilter
{
    private const string ItemKey = "loragrains.tenant";

    /// <summary>The authenticated tenant of the request.</summary>
    public static string TenantOf(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Items[ItemKey] as string ?? throw new InvalidOperationException("the request was not authenticated");
    }

    /// <inheritdoc />
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var http = context.HttpContext;
        var header = http.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        var token = header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) ? header[scheme.Length..].Trim() : null;
        var identity = token is null ? null : await store.Tenants.AuthenticateAsync(token, http.RequestAborted).ConfigureAwait(false);
        if (identity is null)
        {
            http.Response.Headers.WWWAuthenticate = "Bearer";
            throw new HttpApiException(401, "missing or invalid API key: send 'Authorization: Bearer lg_…'");
        }

        http.Items[ItemKey] = identity.TenantId;
        return await next(context).ConfigureAwait(false);
    }
}
