namespace LoraGrains.Client;

/// <summary>Body of <c>POST /v1/adapters/register</c>: an adapter file already on the silos' storage, under an allow-listed root.</summary>
/// <param name="Path">Absolute path of the .safetensors file.</param>
/// <param name="Name">Display name; the file name when absent.</param>
public sealed record RegisterAdapterPathRequest(string Path, string? Name = null);
