using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LoraGrains.Diffusion.Tests.Checkpoints;

/// <summary>Compares config JSON field by field (numbers by value, so 1e-05 equals 1E-05 and 1 equals 1.0 only where both are numbers).</summary>
internal static class JsonAssert
{
    /// <summary>Asserts <paramref name="actual"/> has exactly the fields of <paramref name="expected"/> (minus <paramref name="ignore"/>) with equal values.</summary>
    public static void SameFields(JsonObject expected, JsonObject actual, string what, params string[] ignore)
    {
        var expectedKeys = expected.Select(p => p.Key).Except(ignore).Order(StringComparer.Ordinal).ToArray();
        var actualKeys = actual.Select(p => p.Key).Except(ignore).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(expectedKeys, actualKeys);
        foreach (var key in expectedKeys)
            Assert.True(Equal(expected[key], actual[key]), $"{what}.{key}: expected {expected[key]?.ToJsonString() ?? "null"}, got {actual[key]?.ToJsonString() ?? "null"}");
    }

    public static bool Equal(JsonNode? a, JsonNode? b)
    {
        if (a is null || b is null) return a is null && b is null;
        if (a is JsonArray x && b is JsonArray y) return x.Count == y.Count && x.Zip(y).All(p => Equal(p.First, p.Second));
        if (a is JsonObject o && b is JsonObject p)
            return o.Count == p.Count && o.All(kv => p.ContainsKey(kv.Key) && Equal(kv.Value, p[kv.Key]));
        if (a.GetValueKind() != b.GetValueKind()) return false;
        if (a.GetValueKind() == JsonValueKind.Number)
            return double.Parse(a.ToJsonString(), CultureInfo.InvariantCulture) == double.Parse(b.ToJsonString(), CultureInfo.InvariantCulture);
        return a.ToJsonString() == b.ToJsonString();
    }
}
