using System.Text.Json;
using System.Text.Json.Serialization;

namespace LoraGrains.Client;

/// <summary>The JSON conventions of the HTTP contract: camelCase names, enums as camelCase strings, nulls omitted.</summary>
public static class LoraGrainsJson
{
    /// <summary>Serializer options used by both the client and the silo.</summary>
    public static JsonSerializerOptions Options { get; } = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        };
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
