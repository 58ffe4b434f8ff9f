using System.Text.RegularExpressions;

namespace LoraGrains.Cluster.Storage;

/// <summary>
/// What a well-formed key looks like, checked before any key reaches SQL or a file name, with an error
/// that names the field and the rule.
/// </summary>
internal static partial class StorageKeys
{
    /// <summary>Longest accepted tenant, session or silo id.</summary>
    public const int MaxIdLength = 128;

    /// <summary>Tenant ids: lowercase letters, digits and '-', starting with a letter or digit (they appear in URLs and paths).</summary>
    public static string TenantId(string? value, string field = "tenantId")
    {
        if (value is null || !TenantIdPattern().IsMatch(value))
        {
            throw new ArgumentException(
                $"{field} must be 1-63 characters of lowercase letters, digits and '-', starting with a letter or digit (got '{Shorten(value)}').", field);
        }

        return value;
    }

    /// <summary>Session and silo ids: 1-128 characters of letters, digits, '.', '_', '-' and ':'.</summary>
    public static string Id(string? value, string field)
    {
        if (value is null || value.Length > MaxIdLength || !IdPattern().IsMatch(value))
        {
            throw new ArgumentException(
                $"{field} must be 1-{MaxIdLength} characters of letters, digits, '.', '_', '-' and ':' (got '{Shorten(value)}').", field);
        }

        return value;
    }

    /// <summary>Adapter content hashes: SHA-256 as 64 lowercase hex digits.</summary>
    public static string ContentHash(string? value, string field)
    {
        if (value is null || !ContentHashPattern().IsMatch(value))
        {
            throw new ArgumentException($"{field} must be a SHA-256 of 64 lowercase hex digits (got '{Shorten(value)}').", field);
        }

        return value;
    }

    /// <summary>Free text such as names and error messages: required, at most <paramref name="maxLength"/> characters.</summary>
    public static string Text(string? value, string field, int maxLength)
    {
        if (string.IsNullOrWhiteSpace(value) || value.Length > maxLength)
        {
            throw new ArgumentException($"{field} is required and must be at most {maxLength} characters.", field);
        }

        return value;
    }

    private static string Shorten(string? value) => value is null ? "null" : value.Length <= 40 ? value : value[..40] + "…";

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex TenantIdPattern();

    [GeneratedRegex("^[A-Za-z0-9._:-]+$", RegexOptions.CultureInvariant)]
    private static partial Regex IdPattern();

    [GeneratedRegex("^[0-9a-f]{64}$", RegexOptions.CultureInvariant)]
    private static partial Regex ContentHashPattern();
}
