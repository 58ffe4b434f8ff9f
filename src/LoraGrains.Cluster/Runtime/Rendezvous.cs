using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using LoraGrains.Cluster.Membership;

namespace LoraGrains.Cluster.Runtime;

/// <summary>
/// Rendezvous (highest random weight) hashing: every silo that sees the same candidates picks the same one for a key,
/// and a silo joining or leaving moves only the keys it wins or held.
/// </summary>
public static class Rendezvous
{
    /// <summary>The candidate with the highest hash of (silo id, <paramref name="key"/>), or <see langword="null"/> when there is none.</summary>
    public static SiloRecord? Pick(IEnumerable<SiloRecord> candidates, string key)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(key);
        return candidates.MaxBy(s => Score(s.SiloId, key));
    }

    private static ulong Score(string siloId, string key) =>
        BinaryPrimitives.ReadUInt64BigEndian(SHA256.HashData(Encoding.UTF8.GetBytes(siloId + "\n" + key)));
}
