namespace LoraGrains.Cli;

/// <summary>The silo ran the job and it failed or was cancelled; the message says why. Nothing was written.</summary>
internal sealed class GenerationFailedException(string message) : Exception(message);
