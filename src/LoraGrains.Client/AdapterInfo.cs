namespace LoraGrains.Client;

/// <summary>An adapter registered by the tenant.</summary>
/// <param name="Hash">SHA-256 of the file: the adapter's identity.</param>
/// <param name="Name">Display name.</param>
/// <param name="Format">Detected format (kohya, diffusers, …).</param>
/// <param name="Rank">Low-rank dimension.</param>
/// <param name="Targets">Model components it changes.</param>
/// <param name="SizeBytes">File size.</param>
/// <param name="CreatedAt">Registration time.</param>
public sealed record AdapterInfo(string Hash, string Name, string Format, int Rank, IReadOnlyList<string> Targets, long SizeBytes, DateTimeOffset CreatedAt);
