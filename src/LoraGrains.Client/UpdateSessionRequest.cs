using System.Text.Json.Nodes;

namespace LoraGrains.Client;

/// <summary>Body of <c>PUT /v1/sessions/{id}</c>: the new state, written only if the session is still at <paramref name="Version"/>.</summary>
/// <param name="Version">The version the caller last saw (or send it as <c>If-Match</c>).</param>
/// <param name="Settings">New default generation parameters.</param>
/// <param name="Adapters">New adapter set.</param>
public sealed record UpdateSessionRequest(long? Version = null, JsonObject? Settings = null, IReadOnlyList<SessionAdapterEntry>? Adapters = null);
