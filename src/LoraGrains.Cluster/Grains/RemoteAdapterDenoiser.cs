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
/// The coordinator's side of Composite across silos: each step, every adapter's pass goes at once to the
/// <see cref="DenoiserGrain"/> of the peer <see cref="DenoiserPlacement"/> chose (one encoded body shared by all of
/// them), each peer's calls made by a <see cref="PassThread"/> of its own; a pass that fails (peer busy, gone, slow)
/// runs locally instead, so the result never depends on the peers being there. Dispose when the job ends.
/// </summary>
internal sealed class RemoteAdapterDenoiser(
    HttpClient http, IReadOnlyDictionary<string, SiloRecord?> placement, string clusterSecret, SiloMetrics metrics, ILogger logger) : IAdapterDenoiser, IDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, PassThread> _callers = new(StringComparer.Ordinal);
    private bool _disposed;
    private readonly HashSet<string> _givenUp = new(StringComparer.Ordinal);
    private int _remotePasses;
    private double _overheadMs;
    private double _peerMs;
    private List<double> _peerTimes = [];

    /// <summary>Passes answered by peers so far.</summary>
    public int RemotePasses => Volatile.Read(ref _remotePasses);

    /// <summary>Total of the passes' round trips minus the peers' own time for them (see <see cref="SiloEndpoints.DenoiseTiming"/>), in ms.</summary>
    public double OverheadMs
    {
        get
        {
            lock (_gate) return _overheadMs;
        }
    }

    /// <summary>Total of the peers' own time for the passes they answered, in ms.</summary>
    public double PeerMs
    {
        get
        {
            lock (_gate) return _peerMs;
        }
    }

    /// <summary>The peers' own times (ms) for the passes answered since the last call, for measuring a step's critical path.</summary>
    public IReadOnlyList<double> TakePeerTimes()
    {
        lock (_gate)
        {
            var times = _peerTimes;
            _peerTimes = [];
            return times;
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<Task<StateTensor?>?> Start(IReadOnlyList<string> adapterIds, IReadOnlyList<double> scales, Tensor latents, Tensor timestep, Tensor textStates)
    {
        ArgumentNullException.ThrowIfNull(adapterIds);
        ArgumentNullException.ThrowIfNull(scales);
        var passes = new Task<StateTensor?>?[adapterIds.Count];
        byte[]? body = null;
        for (var i = 0; i < adapterIds.Count; i++)
        {
            if (!placement.TryGetValue(adapterIds[i], out var peer) || peer is null || GivenUp(peer.SiloId))
            {
                continue;
            }

            // One body for every pass of the step: only the adapter and its scale (headers) differ.
            body ??= TensorFrames.Encode([latents, timestep, textStates]);
            var (adapterId, scale, frames) = (adapterIds[i], scales[i], body);
            passes[i] = Caller(peer.SiloId).RunAsync(() => Call(peer, adapterId, scale, frames));
        }

        return passes;
    }

    private PassThread Caller(string siloId)
    {
        lock (_gate)
        {
            if (!_callers.TryGetValue(siloId, out var caller))
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                _callers[siloId] = caller = new PassThread("peer " + siloId);
            }

            return caller;
        }
    }

    // Blocking I/O on the caller's own thread: the answer wakes it straight from its socket.
    private StateTensor? Call(SiloRecord peer, string adapterId, double scale, byte[] body)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var request = DenoiseRequest.ToHttp(peer.Address, adapterId, scale, body);
            request.Headers.Add(ClusterSecretAuthentication.Header, clusterSecret);
            using var response = http.Send(request, HttpCompletionOption.ResponseHeadersRead);
            if (!response.IsSuccessStatusCode)
            {
                metrics.RemotePassesSent.Add(1, new KeyValuePair<string, object?>("outcome", "local"));
                logger.LogDebug("Peer {Silo} declined a pass ({Status}); running it locally", peer.SiloId, (int)response.StatusCode);
                return null;
            }

            var noise = TensorFrames.Decode(ReadBody(response.Content), 1)[0];
            Interlocked.Increment(ref _remotePasses);
            metrics.RemotePassesSent.Add(1, new KeyValuePair<string, object?>("outcome", "ok"));
            if (PeerTime(response) is { } peerMs)
            {
                var overhead = Stopwatch.GetElapsedTime(started).TotalMilliseconds - peerMs;
                lock (_gate)
                {
                    _overheadMs += overhead;
                    _peerMs += peerMs;
                    _peerTimes.Add(peerMs);
                }

                metrics.RemotePassOverhead.Record(overhead);
            }

            return noise;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A peer that cannot be reached is not asked again during this run.
            lock (_gate) _givenUp.Add(peer.SiloId);
            metrics.RemotePassesSent.Add(1, new KeyValuePair<string, object?>("outcome", "local"));
            logger.LogWarning("Peer {Silo} unreachable for Composite passes ({Error}); running them locally", peer.SiloId, e.Message);
            return null;
        }
    }

    // The answer, read into one array of its announced length.
    private static byte[] ReadBody(HttpContent content)
    {
        using var stream = content.ReadAsStream();
        if (content.Headers.ContentLength is not long length)
        {
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            return copy.ToArray();
        }

        if (length > SiloEndpoints.MaxDenoiseBodyBytes)
        {
            throw new InvalidDataException($"the answer is {length} bytes; a pass's answer may be at most {SiloEndpoints.MaxDenoiseBodyBytes}");
        }

        var body = new byte[length];
        stream.ReadExactly(body);
        return body;
    }

    /// <summary>Ends the per-peer threads once their calls in flight are answered.</summary>
    public void Dispose()
    {
        PassThread[] callers;
        lock (_gate)
        {
            _disposed = true;
            callers = [.. _callers.Values];
            _callers.Clear();
        }

        foreach (var caller in callers)
        {
            caller.Dispose();
        }
    }

    private bool GivenUp(string siloId)
    {
        lock (_gate) return _givenUp.Contains(siloId);
    }

    // The peer's own time for the pass, from its Server-Timing header ("denoise;dur=12.345"); null when absent.
    private static double? PeerTime(HttpResponseMessage response)
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
