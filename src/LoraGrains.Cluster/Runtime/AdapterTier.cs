namespace LoraGrains.Cluster.Runtime;

/// <summary>Where an adapter's matrices are held on a silo, fastest first (see <see cref="AdapterResidency"/>).</summary>
public enum AdapterTier
{
    /// <summary>Attached to the model, on its device: usable by a run now.</summary>
    Device,

    /// <summary>
    /// Detached, in host memory (page-locked when the model is on CUDA): promotion is one copy (CUDA) or a re-attach
    /// (CPU), without reading the file.
    /// </summary>
    Host,

    /// <summary>Only the file in the data directory: promotion loads and validates it again.</summary>
    Disk,
}
