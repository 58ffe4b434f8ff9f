using System.Diagnostics;
using System.Globalization;
using LoraGrains.Cluster.Http;
using LoraGrains.Cluster.Membership;
using LoraGrains.Cluster.Runtime;
using LoraGrains.Diffusion.Pipeline;
using LoraGrains.Diffusion.Schedulers;
using LoraGrains.Torch;
using Microsoft.Extensions.Logging;

namespace LoraGrains.Cluster.Grains;

/// <summary>
/// The coordinator's side of Composite across silos: each adapter's pass goes to the <see cref="DenoiserGrain"/> of the
/// peer <see cref="DenoiserPlacement"/> chose; a pass that fails (peer busy, gone, slow) runs locally instead, so the
/// result never depends on the peers being there. Called on the pipeline's own thread.
/// </summary>
internal sealed class RemoteAdapterDenoiser(
    HttpClient http, IReadOnlyDictionary<string, SiloRecord?> placement, string clusterSecret, Device device, SiloMetrics metrics, ILogger logger) : IAdapterDenoiser
{
    private readonly HashSet<string> _givenUp = new(StringComparer.Ordinal);

    public int RemotePasses { get; private set; }

    /// <summary>Total of the passes' round trips minus the peers' own time for them (see <see cref="SiloEndpoints.DenoiseTiming"/>), in ms.</summary>
    public double OverheadMs { get; private set; }

    public Tensor? Denoise(string adapterId, double scale, Tensor sample, Tensor timestep, Tensor textStates)
    {
        if (!placement.TryGetValue(adapterId, out var peer) || peer is null || _givenUp.Contains(peer.SiloId))
        {
            return null;
        }

        var started = Stopwatch.GetTimestamp();
        try
        {
            using var request = new DenoiseRequest(adapterId, scale, StateTensor.From(sample), StateTensor.From(timestep), StateTensor.From(textStates))
                .ToHttp(peer.Address);
            request.Headers.Add(ClusterSecretAuthentication.Header, clusterSecret);
            // The pipeline's own thread (no synchronization context) waits: HTTP/2 has no synchronous send.
            using var response = http.SendAsync(request).GetAwaiter().GetResult();
            if (!response.IsSuccessStatusCode)
            {
                metrics.RemotePassesSent.Add(1, new KeyValuePair<string, object?>("outcome", "local"));
                logger.LogDebug("Peer {Silo} declined a pass ({Status}); running it locally", peer.SiloId, (int)response.StatusCode);
                return null;
            }

            var noise = TensorFrames.Decode(response.Content.ReadAsByteArrayAsync().GetAwaiter().GetResult(), 1)[0];
            var result = noise.ToTensor(device).To(sample.DType);
            RemotePasses++;
            metrics.RemotePassesSent.Add(1, new KeyValuePair<string, object?>("outcome", "ok"));
            if (PeerMs(response) is { } peerMs)
            {
                var overhead = Stopwatch.GetElapsedTime(started).TotalMilliseconds - peerMs;
                OverheadMs += overhead;
                metrics.RemotePassOverhead.Record(overhead);
            }

            return result;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A peer that cannot be reached is not asked again during this run.
            _givenUp.Add(peer.SiloId);
            metrics.RemotePassesSent.Add(1, new KeyValuePair<string, object?>("outcome", "local"));
            logger.LogWarning("Peer {Silo} unreachable for Composite passes ({Error}); running them locally", peer.SiloId, e.Message);
            return null;
        }
    }

    // The peer's own time for the pass, from its Server-Timing header ("denoise;dur=12.345"); null when absent.
    private static double? PeerMs(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Server-Timing", out var values))
        {
            return null;
        }

        foreach (var value in values)
        {
            var prefix = SiloEndpoints.DenoiseTiming + ";dur=";
            if (value.StartsWith(prefix, StringComparison.Ordinal)
                && double.TryParse(value.AsSpan(prefix.Length), NumberStyles.Float, CultureInfo.InvariantCulture, out var ms))
            {
                return ms;
            }
        }

        return null;
    }
}
