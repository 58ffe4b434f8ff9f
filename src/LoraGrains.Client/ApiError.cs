namespace LoraGrains.Client;

/// <summary>The body of every 4xx/5xx answer.</summary>
/// <param name="Error">What is wrong, naming the field and the limit where one applies.</param>
/// <param name="Field">The offending request field, when one is to blame.</param>
public sealed record ApiError(string Error, string? Field = null);
