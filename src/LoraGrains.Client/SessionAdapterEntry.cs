namespace LoraGrains.Client;

/// <summary>One adapter of a session's adapter set.</summary>
/// <param name="Hash">The adapter's content hash (SHA-256, 64 lowercase hex digits).</param>
/// <param name="Weight">Its user weight.</param>
public sealed record SessionAdapterEntry(string Hash, double Weight = 1.0);
