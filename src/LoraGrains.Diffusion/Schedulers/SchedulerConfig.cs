using System.Collections.ObjectModel;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace LoraGrains.Diffusion.Schedulers;

/// <summary>
/// The key/value pairs of a diffusers <c>scheduler_config.json</c>, plus overrides: what
/// <c>Class.from_config(config, **extra)</c> receives. Keys a scheduler does not know are ignored (as diffusers
/// does); keys it knows but that are absent take that scheduler class's own default, so the same config gives
/// each class its diffusers defaults (e.g. <c>timestep_spacing</c> is "leading" for DDIM, "linspace" for Euler).
/// Immutable: <see cref="With(string, JsonElement)"/> returns a new config.
/// </summary>
public sealed class SchedulerConfig
{
    private static readonly JsonDocumentOptions ParseOptions = new()
    {
        AllowTrailingCommas = true,
        CommentHandling = JsonCommentHandling.Skip,
    };

    private readonly Dictionary<string, JsonElement> values;

    private SchedulerConfig(Dictionary<string, JsonElement> values) => this.values = values;

    /// <summary>A config with no keys: every field takes the scheduler class's default.</summary>
    public static SchedulerConfig Empty { get; } = new(new Dictionary<string, JsonElement>(StringComparer.Ordinal));

    /// <summary>All keys and their JSON values.</summary>
    public IReadOnlyDictionary<string, JsonElement> Values => new ReadOnlyDictionary<string, JsonElement>(values);

    /// <summary>
    /// Parses a config JSON object. Python's bare <c>NaN</c>, <c>Infinity</c> and <c>-Infinity</c> (which
    /// diffusers' <c>save_config</c> writes, e.g. <c>lambda_min_clipped</c>) are accepted.
    /// </summary>
    /// <exception cref="SchedulerConfigException">The text is not a JSON object.</exception>
    public static SchedulerConfig Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(QuotePythonFloatLiterals(json), ParseOptions);
        }
        catch (JsonException e)
        {
            throw new SchedulerConfigException("(config)", null, $"scheduler config is not valid JSON: {e.Message}");
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new SchedulerConfigException("(config)", null, $"scheduler config must be a JSON object, not {doc.RootElement.ValueKind}");
            var dict = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var p in doc.RootElement.EnumerateObject()) dict[p.Name] = p.Value.Clone();
            return new SchedulerConfig(dict);
        }
    }

    /// <summary>Reads and parses a <c>scheduler_config.json</c> file.</summary>
    public static SchedulerConfig Load(string path) => Parse(File.ReadAllText(path));

    /// <summary>A copy with <paramref name="key"/> set to <paramref name="value"/> (like a from_config keyword argument).</summary>
    public SchedulerConfig With(string key, JsonElement value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var dict = new Dictionary<string, JsonElement>(values, StringComparer.Ordinal) { [key] = value.Clone() };
        return new SchedulerConfig(dict);
    }

    /// <summary>A copy with <paramref name="key"/> set to a boolean.</summary>
    public SchedulerConfig With(string key, bool value) => With(key, JsonSerializer.SerializeToElement(value));

    /// <summary>A copy with <paramref name="key"/> set to an integer.</summary>
    public SchedulerConfig With(string key, long value) => With(key, JsonSerializer.SerializeToElement(value));

    /// <summary>A copy with <paramref name="key"/> set to a number.</summary>
    public SchedulerConfig With(string key, double value) =>
        With(key, double.IsFinite(value) ? JsonSerializer.SerializeToElement(value) : JsonSerializer.SerializeToElement(value.ToString(CultureInfo.InvariantCulture)));

    /// <summary>A copy with <paramref name="key"/> set to a string (or JSON null when <paramref name="value"/> is null).</summary>
    public SchedulerConfig With(string key, string? value) => With(key, JsonSerializer.SerializeToElement(value));

    /// <summary>The config as JSON text.</summary>
    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            foreach (var (k, v) in values.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                w.WritePropertyName(k);
                v.WriteTo(w);
            }

            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    // ---- typed reads (absent or null → the class default) -------------------------------------

    internal bool Has(string key) => values.TryGetValue(key, out var v) && v.ValueKind != JsonValueKind.Null;

    internal string Raw(string key) => values.TryGetValue(key, out var v) ? v.GetRawText() : "(absent)";

    internal int GetInt(string key, int defaultValue)
    {
        if (!Has(key)) return defaultValue;
        var v = values[key];
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i)) return i;
        // Python writes 1.0 for an int in some hand-made configs; accept integral numbers.
        if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var d) && d == Math.Floor(d) && Math.Abs(d) <= int.MaxValue) return (int)d;
        throw new SchedulerConfigException(key, v.GetRawText(), $"scheduler config field '{key}' must be an integer, got {v.GetRawText()}");
    }

    internal double GetDouble(string key, double defaultValue) => GetNullableDouble(key) ?? defaultValue;

    internal double? GetNullableDouble(string key)
    {
        if (!Has(key)) return null;
        var v = values[key];
        if (v.ValueKind == JsonValueKind.Number) return v.GetDouble();
        if (v.ValueKind == JsonValueKind.String)
        {
            // Named float literals (quoted by Parse, or given to With(double)).
            switch (v.GetString())
            {
                case "NaN": return double.NaN;
                case "Infinity": return double.PositiveInfinity;
                case "-Infinity": return double.NegativeInfinity;
            }
        }

        throw new SchedulerConfigException(key, v.GetRawText(), $"scheduler config field '{key}' must be a number, got {v.GetRawText()}");
    }

    internal bool GetBool(string key, bool defaultValue)
    {
        if (!Has(key)) return defaultValue;
        var v = values[key];
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new SchedulerConfigException(key, v.GetRawText(), $"scheduler config field '{key}' must be true or false, got {v.GetRawText()}"),
        };
    }

    internal string? GetString(string key, string? defaultValue)
    {
        if (!Has(key)) return defaultValue;
        var v = values[key];
        if (v.ValueKind == JsonValueKind.String) return v.GetString();
        throw new SchedulerConfigException(key, v.GetRawText(), $"scheduler config field '{key}' must be a string, got {v.GetRawText()}");
    }

    internal double[]? GetDoubleArray(string key)
    {
        if (!Has(key)) return null;
        var v = values[key];
        if (v.ValueKind != JsonValueKind.Array)
            throw new SchedulerConfigException(key, v.GetRawText(), $"scheduler config field '{key}' must be an array of numbers or null");
        var result = new double[v.GetArrayLength()];
        var i = 0;
        foreach (var e in v.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.Number)
                throw new SchedulerConfigException(key, e.GetRawText(), $"scheduler config field '{key}' must be an array of numbers, element {i} is {e.GetRawText()}");
            result[i++] = e.GetDouble();
        }

        return result;
    }

    /// <summary>Wraps bare NaN / Infinity / -Infinity tokens (outside strings) in quotes so System.Text.Json accepts them.</summary>
    private static string QuotePythonFloatLiterals(string json)
    {
        if (!json.Contains("NaN", StringComparison.Ordinal) && !json.Contains("Infinity", StringComparison.Ordinal)) return json;
        var sb = new StringBuilder(json.Length + 16);
        var inString = false;
        for (var i = 0; i < json.Length; i++)
        {
            var c = json[i];
            if (inString)
            {
                sb.Append(c);
                if (c == '\\' && i + 1 < json.Length) sb.Append(json[++i]);
                else if (c == '"') inString = false;
                continue;
            }

            if (c == '"')
            {
                inString = true;
                sb.Append(c);
                continue;
            }

            var literal = new[] { "-Infinity", "Infinity", "NaN" }.FirstOrDefault(l => string.CompareOrdinal(json, i, l, 0, l.Length) == 0);
            if (literal is not null)
            {
                sb.Append('"').Append(literal).Append('"');
                i += literal.Length - 1;
                continue;
            }

            sb.Append(c);
        }

        return sb.ToString();
    }
}
