namespace LoraGrains.Cluster.Membership;

/// <summary>A silo as the membership table knows it.</summary>
/// <param name="SiloId">Unique per process start (e.g. host name plus start time).</param>
/// <param name="Address">Where peers reach it (e.g. <c>http://10.0.0.5:5000</c>).</param>
/// <param name="Status">Declared state.</param>
/// <param name="StartedAt">When it registered.</param>
/// <param name="HeartbeatAt">Its last heartbeat.</param>
/// <param name="ResidentAdapters">Content hashes of adapters resident on its devices, as of its last heartbeat.</param>
public sealed record SiloRecord(
    string SiloId,
    string Address,
    SiloStatus Status,
    DateTimeOffset StartedAt,
    DateTimeOffset HeartbeatAt,
    IReadOnlyList<string> ResidentAdapters);
