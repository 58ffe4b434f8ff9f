using System.Net.Http.Json;
using LoraGrains.Client;
using LoraGrains.Cluster.Http;
using LoraGrains.Cluster.Storage;
using Microsoft.Extensions.Options;

namespace LoraGrains.Cluster.Runtime;

/// <summary>Calls other silos' silo-to-silo endpoints (authenticated with the cluster secret), found through the membership table.</summary>
public sealed class SiloPeers(ClusterStore store, SiloTls tls, IOptions<SiloOptions> options) : IDisposable
{
    /// <summary>How long a silo-to-silo call (or a Composite pass on a peer) may take before the peer is given up.</summary>
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(60);

    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2), SslOptions = new() { CertificateChainPolicy = tls.PeerChainPolicy() } })
    { Timeout = CallTimeout };

    /// <summary>The connection pool for silo-to-silo calls.</summary>
    internal HttpClient Http => _http;

    /// <summary>The progress of a job running on <paramref name="siloId"/>, or <see langword="null"/> when it cannot be had.</summary>
    public async Task<JobProgress?> GetProgressAsync(string siloId, Guid jobId, CancellationToken cancellationToken)
    {
        if (options.Value.ClusterSecret is not { Length: > 0 } secret || siloId == options.Value.SiloId)
        {
            return null;
        }

        try
        {
            var silo = await store.Membership.GetAsync(siloId, cancellationToken).ConfigureAwait(false);
            if (silo is null)
            {
                return null;
            }

            using var request = PeerAddress.Request(HttpMethod.Get, silo.Address, $"internal/v1/jobs/{jobId}/progress");
            request.Headers.Add(ClusterSecretAuthentication.Header, secret);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(3));
            using var response = await _http.SendAsync(request, timeout.Token).ConfigureAwait(false);
            return response.IsSuccessStatusCode
                ? await response.Content.ReadFromJsonAsync<JobProgress>(LoraGrainsJson.Options, cancellationToken).ConfigureAwait(false)
                : null;
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or UriFormatException or System.Text.Json.JsonException)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();
}
