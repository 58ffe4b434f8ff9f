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

    /// <summary>
    /// An integer, or null when absent, null or of another kind: for informational keys that other model
    /// families write differently (e.g. <c>sample_size</c> as a [height, width] list).
    /// </summary>
    public int? LenientInt(string key) =>
        TryGet(key, out var e) && e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var v) ? v : null;

    /// <summary>A string that may be absent or null.</summary>
    public string? OptionalString(string key) =>
        TryGet(key, out var e) ? (e.ValueKind == JsonValueKind.String ? e.GetString()! : throw Invalid(key, $"must be a string, found {Describe(e)}")) : null;

    /// <summary>True when <paramref name="key"/> is present with the value null (which some keys distinguish from absent).</summary>
    public bool IsNull(string key) => root.TryGetProperty(key, out var e) && e.ValueKind == JsonValueKind.Null;

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

    /// <summary>
    /// A value per entry of a list of <paramref name="count"/> (e.g. per UNet block): an integer applies to every
    /// entry (diffusers expands it the same way), an array gives one value each; null when absent or null. The
    /// array's length is left for the caller's validation to report.
    /// </summary>
    public int[]? IntOrArray(string key, int count)
    {
        if (!TryGet(key, out var e)) return null;
        if (e.ValueKind == JsonValueKind.Number) return Enumerable.Repeat(Int(key, 0), count).ToArray();
        if (e.ValueKind == JsonValueKind.Array && e.EnumerateArray().Any(x => x.ValueKind == JsonValueKind.Array))
            throw Unsupported(key, "an integer or a flat array of integers");
        if (e.ValueKind != JsonValueKind.Array) throw Invalid(key, $"must be an integer or an array of integers, found {Describe(e)}");
        return IntArray(key, []);
    }

    /// <summary>Throws unless <paramref name="key"/> is absent or null: a feature this engine does not implement.</summary>
    public void RequireAbsentOrNull(string key)
    {
        if (TryGet(key, out _)) throw Unsupported(key, "null");
    }

    /// <summary>Throws unless <paramref name="key"/> is absent or exactly the JSON <paramref name="rawJson"/> (null included).</summary>
    public void RequireAbsentOr(string key, string rawJson)
    {
        if (root.TryGetProperty(key, out var e) && e.GetRawText() != rawJson) throw Unsupported(key, rawJson);
    }

    /// <summary>Throws unless <paramref name="key"/> is absent, false, or an array of falses (a per-block flag that is off everywhere).</summary>
    public void RequireAbsentOrFalse(string key)
    {
        if (!root.TryGetProperty(key, out var e)) return;
        var allFalse = e.ValueKind switch
        {
            JsonValueKind.False => true,
            JsonValueKind.Array => e.EnumerateArray().All(x => x.ValueKind == JsonValueKind.False),
            _ => false,
        };
        if (!allFalse) throw Unsupported(key, "false");
    }

    /// <summary>Builds the exception for a present value of <paramref name="key"/> that this engine does not support.</summary>
    public ModelLoadException Unsupported(string key, string supported) =>
        new($"{Source}: unsupported '{key}' = {(root.TryGetProperty(key, out var e) ? e.GetRawText() : "(absent)")} (supported: {supported})");

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
