using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;

namespace LoraGrains.Diffusion.Tests.Checkpoints;

/// <summary>Writes variants of safetensors files by editing only the JSON header (names, shapes), keeping the data bytes.</summary>
internal static class SafetensorsHeaderEdit
{
    public static void Rewrite(string source, string destination, Action<JsonObject> edit)
    {
        var bytes = File.ReadAllBytes(source);
        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var header = JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, headerLength))!.AsObject();
        edit(header);
        var newHeader = Encoding.UTF8.GetBytes(header.ToJsonString());
        using var output = File.Create(destination);
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)newHeader.Length);
        output.Write(len);
        output.Write(newHeader);
        output.Write(bytes.AsSpan(8 + headerLength));
    }

    /// <summary>Renames tensor <paramref name="from"/> to <paramref name="to"/> (JsonObject keeps no rename, so re-add).</summary>
    public static void Rename(JsonObject header, string from, string to)
    {
        var value = header[from]!;
        header.Remove(from);
        header[to] = value;
    }

    /// <summary>A safetensors file of zero-filled float32 tensors with the given names and shapes.</summary>
    public static void WriteZeros(string destination, params (string Name, long[] Shape)[] tensors)
    {
        var header = new JsonObject();
        long offset = 0;
        foreach (var (name, shape) in tensors)
        {
            var bytes = shape.Aggregate(1L, (a, b) => a * b) * 4;
            header[name] = new JsonObject
            {
                ["dtype"] = "F32",
                ["shape"] = new JsonArray(shape.Select(d => (JsonNode)JsonValue.Create(d)).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + bytes),
            };
            offset += bytes;
        }

        var headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());
        using var output = File.Create(destination);
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)headerBytes.Length);
        output.Write(len);
        output.Write(headerBytes);
        output.Write(new byte[offset]);
    }
}
