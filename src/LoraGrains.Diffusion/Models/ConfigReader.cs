using System.Text.Json;

namespace LoraGrains.Diffusion.Models;

/// <summary>
/// Typed access to the top-level values of a library config.json (transformers or diffusers), with
/// the library's default for an absent or null key and a <see cref="ModelLoadException"/> naming the
/// source and key for a value of the wrong kind.
/// </summary>
internal sealed class ConfigReader
{
    private readonly JsonElement root;

    private ConfigReader(JsonElement root, string source)
    {
        this.root = root;
        Source = source;
    }

    /// <summary>Where the JSON came from, for messages.</summary>
    public string Source { get; }

    /// <summary>Parses <paramref name="json"/>, which must be a JSON object.</summary>
    public static ConfigReader Parse(string json, string source)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            root = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new ModelLoadException($"{source}: not valid JSON: {e.Message}", e);
        }

        if (root.ValueKind != JsonValueKind.Object)
            throw new ModelLoadException($"{source}: expected a JSON object, found {root.ValueKind}");
        return new ConfigReader(root, source);
    }

    /// <summary>Reads and parses the file at <paramref name="path"/>.</summary>
    public static ConfigReader Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelLoadException($"cannot read config '{path}': {e.Message}", e);
        }

        return Parse(json, path);
    }

    /// <summary>Builds the exception for an invalid value of <paramref name="key"/>.</summary>
    public ModelLoadException Invalid(string key, string problem) => new($"{Source}: '{key}' {problem}");

    /// <summary>An integer, or <paramref name="fallback"/> when absent or null.</summary>
    public int Int(string key, int fallback) =>
        TryGet(key, out var e) ? (e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var v) ? v : throw Invalid(key, $"must be an integer, found {Describe(e)}")) : fallback;

    /// <summary>An integer that may be absent or null (e.g. an optional token id).</summary>
    public int? OptionalInt(string key) =>
        TryGet(key, out var e) ? (e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var v) ? v : throw Invalid(key, $"must be an integer, found {Describe(e)}")) : null;

    /// <summary>A number, or <paramref name="fallback"/> when absent or null.</summary>
    public double Double(string key, double fallback) =>
        TryGet(key, out var e) ? (e.ValueKind == JsonValueKind.Number ? e.GetDouble() : throw Invalid(key, $"must be a number, found {Describe(e)}")) : fallback;

    /// <summary>A boolean, or <paramref name="fallback"/> when absent or null.</summary>
    public bool Bool(string key, bool fallback) =>
        TryGet(key, out var e)
            ? e.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw Invalid(key, $"must be true or false, found {Describe(e)}"),
            }
            : fallback;

    /// <summary>A string, or <paramref name="fallback"/> when absent or null.</summary>
    public string String(string key, string fallback) =>
        TryGet(key, out var e) ? (e.ValueKind == JsonValueKind.String ? e.GetString()! : throw Invalid(key, $"must be a string, found {Describe(e)}")) : fallback;

    /// <summary>An array of integers, or <paramref name="fallback"/> when absent or null.</summary>
    public int[] IntArray(string key, int[] fallback)
    {
        if (!TryGet(key, out var e)) return fallback;
        if (e.ValueKind != JsonValueKind.Array) throw Invalid(key, $"must be an array of integers, found {Describe(e)}");
        return e.EnumerateArray()
            .Select(x => x.ValueKind == JsonValueKind.Number && x.TryGetInt32(out var v) ? v : throw Invalid(key, $"must be an array of integers, found element {Describe(x)}"))
            .ToArray();
    }

    /// <summary>An array of strings, or <paramref name="fallback"/> when absent or null.</summary>
    public string[] StringArray(string key, string[] fallback)
    {
        if (!TryGet(key, out var e)) return fallback;
        if (e.ValueKind != JsonValueKind.Array) throw Invalid(key, $"must be an array of strings, found {Describe(e)}");
        return e.EnumerateArray()
            .Select(x => x.ValueKind == JsonValueKind.String ? x.GetString()! : throw Invalid(key, $"must be an array of strings, found element {Describe(x)}"))
            .ToArray();
    }

    private bool TryGet(string key, out JsonElement value) =>
        root.TryGetProperty(key, out value) && value.ValueKind != JsonValueKind.Null;

    private static string Describe(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => $"\"{e.GetString()}\"",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        _ => e.GetRawText(),
    };
}
