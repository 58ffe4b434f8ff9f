using System.Text.Json;
using System.Text.Json.Nodes;
using LoraGrains.Diffusion.Models;

namespace LoraGrains.Diffusion.Checkpoints;

/// <summary>
/// Typed, path-aware reads from one map of a parsed config (an LDM yaml or a diffusers config.json), so a
/// wrong or missing value is reported as "file: model.params.unet_config.params.channel_mult: ...".
/// </summary>
internal sealed class ConfigSection
{
    private readonly string source;

    public ConfigSection(JsonObject map, string source, string path)
    {
        Map = map;
        this.source = source;
        Path = path;
    }

    public JsonObject Map { get; }

    public string Path { get; }

    public bool Has(string key) => Map.TryGetPropertyValue(key, out var v) && v is not null;

    /// <summary>The child map at a dotted path, or null when any step is absent.</summary>
    public ConfigSection? Section(string dottedPath)
    {
        JsonNode? node = Map;
        var path = Path;
        foreach (var step in dottedPath.Split('.'))
        {
            if (node is not JsonObject o || !o.TryGetPropertyValue(step, out node) || node is null) return null;
            path = path.Length == 0 ? step : path + "." + step;
        }

        return node is JsonObject map ? new ConfigSection(map, source, path) : throw Error(dottedPath, "must be a map");
    }

    public ModelLoadException Error(string key, string problem) =>
        new($"{source}: {(Path.Length == 0 ? key : Path + "." + key)} {problem}");

    public int Int(string key, int fallback) => Has(key) ? Int(key) : fallback;

    public int Int(string key)
    {
        if (!Has(key)) throw Error(key, "is missing");
        return AsInt(Map[key]!, key);
    }

    public double Double(string key, double fallback)
    {
        if (!Has(key)) return fallback;
        var v = Map[key]!;
        if (v is JsonValue value && value.GetValueKind() == JsonValueKind.Number) return NumberOf(value);
        throw Error(key, $"must be a number, found {v.ToJsonString()}");
    }

    public bool Bool(string key, bool fallback)
    {
        if (!Has(key)) return fallback;
        var v = Map[key]!;
        return v.GetValueKind() switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Error(key, $"must be true or false, found {v.ToJsonString()}"),
        };
    }

    public string? String(string key)
    {
        if (!Has(key)) return null;
        var v = Map[key]!;
        return v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : throw Error(key, $"must be a string, found {v.ToJsonString()}");
    }

    public int[] IntList(string key)
    {
        if (!Has(key)) throw Error(key, "is missing");
        return Map[key] is JsonArray a ? a.Select(n => n is null ? throw Error(key, "must not contain null") : AsInt(n, key)).ToArray()
            : throw Error(key, $"must be a list of integers, found {Map[key]!.ToJsonString()}");
    }

    /// <summary>An integer, or a list whose elements are all that integer (LDM allows per-level lists in places).</summary>
    public int IntOrUniformList(string key, int fallback)
    {
        if (!Has(key)) return fallback;
        if (Map[key] is not JsonArray) return Int(key);
        var list = IntList(key);
        if (list.Length == 0 || list.Any(x => x != list[0]))
            throw Error(key, $"varies per level ({Map[key]!.ToJsonString()}); only SD 1.x-style uniform values can be represented");
        return list[0];
    }

    // Values come both from JSON text (JsonElement-backed) and from the YAML reader (long/double-backed);
    // the JSON text of a number reads back the same either way.
    internal static double NumberOf(JsonValue v) => double.Parse(v.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture);

    private int AsInt(JsonNode node, string key)
    {
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.Number)
        {
            var d = NumberOf(v);
            if (d == Math.Floor(d) && d is >= int.MinValue and <= int.MaxValue) return (int)d;
        }

        throw Error(key, $"must be an integer, found {node.ToJsonString()}");
    }
}
