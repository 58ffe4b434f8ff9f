namespace LoraGrains.Client;

/// <summary>An adapter a job composes.</summary>
/// <param name="Hash">Content hash of a registered adapter.</param>
/// <param name="Weight">Its user weight (-10..10).</param>
public sealed record JobAdapter(string Hash, double Weight = 1.0);
