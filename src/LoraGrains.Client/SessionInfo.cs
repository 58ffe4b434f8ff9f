using System.Text.Json.Nodes;

namespace LoraGrains.Client;

/// <summary>A session as stored: default generation parameters and adapter set, with its version (the ETag).</summary>
/// <param name="Id">Session id, unique within the tenant.</param>
/// <param name="Version">Concurrency token; pass it back to update.</param>
/// <param name="Settings">Default generation parameters (a JSON object with <see cref="JobRequest"/> field names).</param>
/// <param name="Adapters">The session's adapter set.</param>
/// <param name="CreatedAt">Creation time.</param>
/// <param name="UpdatedAt">Last change.</param>
public sealed record SessionInfo(
    string Id,
    long Version,
    JsonObject Settings,
    IReadOnlyList<SessionAdapterEntry> Adapters,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);
