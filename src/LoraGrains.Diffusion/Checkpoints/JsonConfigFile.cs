using System.Text.Json;
using System.Text.Json.Nodes;
using LoraGrains.Diffusion.Models;

namespace LoraGrains.Diffusion.Checkpoints;

/// <summary>Reads a config.json / model_index.json as a <see cref="JsonObject"/>, failing with the file's path.</summary>
internal static class JsonConfigFile
{
    public static JsonObject Read(string path)
    {
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) as JsonObject
                ?? throw new ModelLoadException($"{path}: expected a JSON object");
        }
        catch (JsonException e)
        {
            throw new ModelLoadException($"{path}: invalid JSON: {e.Message}", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelLoadException($"{path}: cannot be read: {e.Message}", e);
        }
    }
}
