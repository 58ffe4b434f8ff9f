using System.Text.Json;

namespace LoraGrains.Cluster.Storage;

/// <summary>
/// Checks JSON documents from outside before they are stored: well-formed, the expected kind
/// (object or array), and within a size limit, so a bad document is refused with the field's name
/// instead of failing later inside a grain.
/// </summary>
internal static class JsonInput
{
    /// <summary>Returns <paramref name="json"/> if it is a JSON object of at most <paramref name="maxChars"/> characters.</summary>
    public static string Object(string? json, string field, int maxChars) => Check(json, field, maxChars, JsonValueKind.Object);

    /// <summary>Returns <paramref name="json"/> if it is a JSON array of at most <paramref name="maxChars"/> characters.</summary>
    public static string Array(string? json, string field, int maxChars) => Check(json, field, maxChars, JsonValueKind.Array);

    /// <summary>Serialises a list of strings as a JSON array.</summary>
    public static string StringArray(IReadOnlyList<string> values) => JsonSerializer.Serialize(values, StorageJsonContext.Default.IReadOnlyListString);

    /// <summary>Reads a JSON array of strings written by <see cref="StringArray"/>.</summary>
    public static IReadOnlyList<string> ParseStringArray(string json) =>
        JsonSerializer.Deserialize(json, StorageJsonContext.Default.IReadOnlyListString) ?? [];

    private static string Check(string? json, string field, int maxChars, JsonValueKind kind)
    {
        if (json is null)
        {
            throw new ArgumentException($"{field} is required.", field);
        }

        if (json.Length > maxChars)
        {
            throw new ArgumentException($"{field} is {json.Length} characters; the limit is {maxChars}.", field);
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != kind)
            {
                throw new ArgumentException($"{field} must be a JSON {kind.ToString().ToLowerInvariant()}, not {document.RootElement.ValueKind.ToString().ToLowerInvariant()}.", field);
            }
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"{field} is not valid JSON: {e.Message}", field, e);
        }

        return json;
    }
}
