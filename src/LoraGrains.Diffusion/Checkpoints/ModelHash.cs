using System.Security.Cryptography;
using LoraGrains.Diffusion.Models;

namespace LoraGrains.Diffusion.Checkpoints;

/// <summary>
/// Model hashes as AUTOMATIC1111 writes them into PNG metadata ("Model hash: …"): the first 10 hex
/// characters of the SHA-256 of the checkpoint file ("AutoV2").
/// </summary>
public static class ModelHash
{
    /// <summary>Characters of the SHA-256 that A1111 shows as the model hash.</summary>
    public const int ShortLength = 10;

    /// <summary>Lower-case hex SHA-256 of the file, read as a stream (multi-GB files never sit in memory).</summary>
    /// <exception cref="ModelLoadException">The file cannot be read.</exception>
    public static string Sha256(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
            return Convert.ToHexStringLower(SHA256.HashData(stream));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelLoadException($"{path}: cannot hash: {e.Message}", e);
        }
    }

    /// <summary>The short (A1111) form of a full hex SHA-256.</summary>
    public static string Short(string sha256)
    {
        ArgumentNullException.ThrowIfNull(sha256);
        return sha256[..ShortLength];
    }
}
