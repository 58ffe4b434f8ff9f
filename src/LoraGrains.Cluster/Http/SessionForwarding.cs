using LoraGrains.Cluster.Grains;
using LoraGrains.Cluster.Runtime;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LoraGrains.Cluster.Http;

/// <summary>
/// Places session grains: a request for a session is served by the silo that wins the session's key by rendezvous
/// hashing over the active silos, so each session has one activation in the cluster. A request arriving elsewhere is
/// forwarded there with the caller's credentials (the owner authenticates it again); if the owner cannot be reached
/// it is served here — the session's state is in the database under a version, so that stays correct.
/// </summary>
public sealed class SessionForwarding(ClusterView view, SiloPeers peers, IOptions<SiloOptions> options, ILogger<SessionForwarding> logger) : IEndpointFilter
{
    /// <summary>Set on a forwarded request (the forwarding silo's id): the receiver serves it, never forwards it again.</summary>
    public const string ForwardedHeader = "X-LoraGrains-Forwarded-By";

    /// <summary>On every session response: the silo whose session grain served it.</summary>
    public const string ServedByHeader = "X-LoraGrains-Silo";

    private static readonly string[] RequestHeaders = ["Authorization", "If-Match", "Accept"];
    private static readonly string[] ResponseHeaders = ["ETag", ServedByHeader];

    /// <inheritdoc />
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var http = context.HttpContext;
        var self = options.Value.SiloId;
        if (http.Request.RouteValues["id"] is string id && !http.Request.Headers.ContainsKey(ForwardedHeader))
        {
            var key = SessionGrain.KeyOf(TenantAuthentication.TenantOf(http), id);
            var owner = Rendezvous.Pick(await view.ActiveAsync(http.RequestAborted).ConfigureAwait(false), key);
            if (owner is not null && owner.SiloId != self)
            {
                try
                {
                    await ForwardAsync(http, owner.Address).ConfigureAwait(false);
                    return Results.Empty;
                }
                catch (HttpRequestException e)
                {
                    view.Invalidate();
                    logger.LogWarning(e, "Session owner {Silo} unreachable; serving session {Session} on {Self}", owner.SiloId, id, self);
                }
            }
        }

        // At the start of the response, so that error responses (which are written from a cleared response) carry it too.
        http.Response.OnStarting(() =>
        {
            http.Response.Headers[ServedByHeader] = self;
            return Task.CompletedTask;
        });
        return await next(context).ConfigureAwait(false);
    }

    private async Task ForwardAsync(HttpContext http, string ownerAddress)
    {
        var path = http.Request.Path.Value!.TrimStart('/') + http.Request.QueryString;
        using var request = PeerAddress.Request(new HttpMethod(http.Request.Method), ownerAddress, path);
        foreach (var name in RequestHeaders)
        {
            if (http.Request.Headers.TryGetValue(name, out var value)) request.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)value);
        }

        request.Headers.Add(ForwardedHeader, options.Value.SiloId);
        if (http.Request.ContentLength > 0 || http.Request.Headers.TransferEncoding.Count > 0)
        {
            // Streamed through: the owner applies the body size limit.
            request.Content = new StreamContent(http.Request.Body);
            if (http.Request.ContentType is { } type) request.Content.Headers.TryAddWithoutValidation("Content-Type", type);
            if (http.Request.ContentLength is { } length) request.Content.Headers.ContentLength = length;
        }

        using var response = await peers.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, http.RequestAborted).ConfigureAwait(false);
        http.Response.StatusCode = (int)response.StatusCode;
        foreach (var name in ResponseHeaders)
        {
            if (response.Headers.TryGetValues(name, out var values)) http.Response.Headers[name] = values.ToArray();
        }

        if (response.Content.Headers.ContentType is { } contentType) http.Response.ContentType = contentType.ToString();
        await response.Content.CopyToAsync(http.Response.Body, http.RequestAborted).ConfigureAwait(false);
    }
}
