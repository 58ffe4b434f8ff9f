using LoraGrains.Cluster.Membership;
using LoraGrains.Cluster.Runtime;

namespace LoraGrains.Cluster.Grains;

/// <summary>
/// Where each adapter's Composite passes run: on an active peer that already holds the adapter, else on the peer
/// chosen by rendezvous hashing (highest hash of silo id and adapter hash), so every coordinator picks the same one
/// and that peer's residency stays warm. With no peers, everything is local (<see langword="null"/>).
/// </summary>
public static class DenoiserPlacement
{
    /// <summary>Adapter hash → the peer to run its passes (or <see langword="null"/> for local).</summary>
    public static IReadOnlyDictionary<string, SiloRecord?> Place(IEnumerable<string> adapterHashes, IReadOnlyList<SiloRecord> liveSilos, string selfId)
    {
        ArgumentNullException.ThrowIfNull(adapterHashes);
        ArgumentNullException.ThrowIfNull(liveSilos);
        var peers = liveSilos.Where(s => s.Status == SiloStatus.Active && s.SiloId != selfId).ToList();
        var placement = new Dictionary<string, SiloRecord?>(StringComparer.Ordinal);
        foreach (var hash in adapterHashes)
        {
            var holders = peers.Where(p => p.ResidentAdapters.Contains(hash)).ToList();
            var pool = holders.Count > 0 ? holders : peers;
            placement[hash] = Rendezvous.Pick(pool, hash);
        }

        return placement;
    }
}
