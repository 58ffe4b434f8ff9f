using System.Text.Json.Nodes;

namespace LoraGrains.Client;

/// <summary>Body of <c>POST /v1/sessions</c>.</summary>
/// <param name="Id">Wanted id (letters, digits, '-', '_', '.'); a random one when absent.</param>
/// <param name="Settings">Default generation parameters.</param>
/// <param name="Adapters">Initial adapter set.</param>
public sealed record CreateSessionRequest(string? Id = null, JsonObject? Settings = null, IReadOnlyList<SessionAdapterEntry>? Adapters = null);
