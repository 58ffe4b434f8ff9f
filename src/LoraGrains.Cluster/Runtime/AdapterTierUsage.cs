namespace LoraGrains.Cluster.Runtime;

/// <summary>What one memory tier of <see cref="AdapterResidency"/> holds.</summary>
/// <param name="Tier">The tier (<see cref="AdapterTier.Device"/> or <see cref="AdapterTier.Host"/>).</param>
/// <param name="Hashes">Content hashes held, most recently used first.</param>
/// <param name="Bytes">Bytes of adapter weights held.</param>
/// <param name="Budget">The tier's budget in bytes.</param>
/// <param name="PinnedBytes">Of <paramref name="Bytes"/>, those in page-locked host memory (the host tier of a CUDA silo).</param>
public sealed record AdapterTierUsage(AdapterTier Tier, IReadOnlyList<string> Hashes, long Bytes, long Budget, long PinnedBytes = 0)
{
    /// <summary>Adapters held.</summary>
    public int Count => Hashes.Count;
}
