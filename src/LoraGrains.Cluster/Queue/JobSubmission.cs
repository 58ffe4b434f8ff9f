namespace LoraGrains.Cluster.Queue;

/// <summary>A generation request to enqueue.</summary>
/// <param name="TenantId">The submitting tenant.</param>
/// <param name="SessionId">The tenant's session it belongs to, if any (must exist).</param>
/// <param name="RequestJson">The generation request, a JSON object, opaque to the queue.</param>
/// <param name="AdapterHashes">Content hashes of the adapters it composes; claims prefer silos that hold them.</param>
/// <param name="MaxAttempts">How many claims it gets before an expired lease fails it for good.</param>
public sealed record JobSubmission(
    string TenantId,
    string? SessionId,
    string RequestJson,
    IReadOnlyList<string> AdapterHashes,
    int MaxAttempts = 3);
