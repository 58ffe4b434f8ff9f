using System.Diagnostics;
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
/// them), each peer's passes sent on a <see cref="DenoiseLink"/> of its own by a <see cref="PassThread"/> of its own;
/// a pass that fails (peer busy, gone, slow) runs locally instead, so the result never depends on the peers being
/// there. Dispose when the job ends: that closes the links. https peers are checked with <paramref name="tls"/>'s peer
/// authorities (the system's trust store without it).
/// </summary>
internal sealed class RemoteAdapterDenoiser(
    IReadOnlyDictionary<string, SiloRecord?> placement, string clusterSecret, TimeSpan timeout, SiloMetrics metrics, ILogger logger, SiloTls? tls = null)
    : IAdapterDenoiser, IDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Peer> _peers = new(StringComparer.Ordinal);
    private bool _disposed;
    private readonly HashSet<string> _givenUp = new(StringComparer.Ordinal);
    private int _remotePasses;
    private double _overheadMs;
    private double _peerMs;
    private List<double> _peerTimes = [];

    /// <summary>Passes answered by peers so far.</summary>
    public int RemotePasses => Volatile.Read(ref _remotePasses);

    /// <summary>Total of the passes' round trips minus the peers' own time for them (<see cref="DenoiseAnswer.PeerMs"/>), in ms.</summary>
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
            if (!placement.TryGetValue(adapterIds[i], out var silo) || silo is null || GivenUp(silo.SiloId))
            {
                continue;
            }

            // One body for every pass of the step: only the adapter and its scale (the message's head) differ.
            body ??= TensorFrames.Encode([latents, timestep, textStates]);
            var (peer, adapterId, scale, frames) = (For(silo), adapterIds[i], scales[i], body);
            passes[i] = peer.Thread.RunAsync(() => Call(peer, adapterId, scale, frames));
        }

        return passes;
    }

    private Peer For(SiloRecord silo)
    {
        lock (_gate)
        {
            if (!_peers.TryGetValue(silo.SiloId, out var peer))
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                _peers[silo.SiloId] = peer = new Peer(silo, new PassThread("peer " + silo.SiloId));
            }

            return peer;
        }
    }

    // Blocking I/O on the peer's own thread: the answer wakes it straight from its socket.
    private StateTensor? Call(Peer peer, string adapterId, double scale, byte[] body)
    {
        var silo = peer.Silo;
        var started = Stopwatch.GetTimestamp();
        try
        {
            peer.Link ??= DenoiseLink.Open(silo.Address, clusterSecret, timeout, tls);
            var answer = peer.Link.Run(adapterId, scale, body);
            if (answer.Status != 200)
            {
                metrics.RemotePassesSent.Add(1, new KeyValuePair<string, object?>("outcome", "local"));
                logger.LogDebug("Peer {Silo} declined a pass ({Status}: {Reason}); running it locally", silo.SiloId, answer.Status, answer.ErrorText);
                return null;
            }

            var noise = TensorFrames.Decode(answer.Body, 1)[0];
            var overhead = Stopwatch.GetElapsedTime(started).TotalMilliseconds - answer.PeerMs;
            Interlocked.Increment(ref _remotePasses);
            metrics.RemotePassesSent.Add(1, new KeyValuePair<string, object?>("outcome", "ok"));
            metrics.RemotePassOverhead.Record(overhead);
            lock (_gate)
            {
                _overheadMs += overhead;
                _peerMs += answer.PeerMs;
                _peerTimes.Add(answer.PeerMs);
            }

            return noise;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A peer that cannot be reached is not asked again during this run.
            lock (_gate) _givenUp.Add(silo.SiloId);
            peer.Link?.Dispose();
            peer.Link = null;
            metrics.RemotePassesSent.Add(1, new KeyValuePair<string, object?>("outcome", "local"));
            logger.LogWarning("Peer {Silo} unreachable for Composite passes ({Error}); running them locally", silo.SiloId, e.Message);
            return null;
        }
    }

    /// <summary>Ends the per-peer threads once their calls in flight are answered, then closes the links.</summary>
    public void Dispose()
    {
        Peer[] peers;
        lock (_gate)
        {
            _disposed = true;
            peers = [.. _peers.Values];
            _peers.Clear();
        }

        foreach (var peer in peers)
        {
            peer.Thread.Dispose();
            peer.Link?.Dispose();
        }
    }

    private bool GivenUp(string siloId)
    {
        lock (_gate) return _givenUp.Contains(siloId);
    }

    // A peer's thread and its link; the link is opened, used and dropped on that thread only.
    private sealed class Peer(SiloRecord silo, PassThread thread)
    {
        public SiloRecord Silo { get; } = silo;

        public PassThread Thread { get; } = thread;

        public DenoiseLink? Link { get; set; }
    }
}
