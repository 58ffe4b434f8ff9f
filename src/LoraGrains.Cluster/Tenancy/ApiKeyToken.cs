using System.Security.Cryptography;
using System.Text;

namespace LoraGrains.Cluster.Tenancy;

/// <summary>
/// The API key token format, <c>lg_{keyId}.{secret}</c>: a 16-hex-digit key id to find the row without
/// scanning, and 32 random bytes (base64url) of secret. Only SHA-256 of the secret is stored. A plain hash
/// is enough — slow password hashes exist to protect guessable secrets, and 256 random bits are not guessable —
/// and it keeps authentication cheap on every request.
/// </summary>
internal static class ApiKeyToken
{
    private const string Prefix = "lg_";
    private const int KeyIdChars = 16;
    private const int SecretBytes = 32;

    // Base64url of 32 bytes without padding.
    private const int SecretChars = 43;

    /// <summary>Total token length.</summary>
    public const int Length = 3 + KeyIdChars + 1 + SecretChars;

    /// <summary>Makes a fresh key id, the token to give out, and the hash to store.</summary>
    public static (string KeyId, string Token, byte[] SecretHash) Create()
    {
        var keyId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(KeyIdChars / 2));
        var secret = Base64Url(RandomNumberGenerator.GetBytes(SecretBytes));
        return (keyId, $"{Prefix}{keyId}.{secret}", Hash(secret));
    }

    /// <summary>Splits a presented token; <see langword="false"/> when it is not of this format.</summary>
    public static bool TryParse(string? token, out string keyId, out string secret)
    {
        keyId = secret = string.Empty;
        if (token is null || token.Length != Length || !token.StartsWith(Prefix, StringComparison.Ordinal) || token[Prefix.Length + KeyIdChars] != '.')
        {
            return false;
        }

        keyId = token.Substring(Prefix.Length, KeyIdChars);
        secret = token[(Prefix.Length + KeyIdChars + 1)..];
        foreach (var c in keyId)
        {
            if (!char.IsAsciiHexDigitLower(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>SHA-256 of the secret part.</summary>
    public static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
