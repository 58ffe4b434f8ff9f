using System.Text.Json;

namespace LoraGrains.Torch.Safetensors;

/// <summary>Writes tensors in the safetensors format.</summary>
public static class SafetensorsWriter
{
    /// <summary>
    /// Writes <paramref name="tensors"/> (in the given order) and optional <paramref name="metadata"/> to
    /// <paramref name="path"/>. The file is written beside the target and renamed into place, so a failure
    /// never leaves a half-written file at <paramref name="path"/>.
    /// </summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(tensors);
        var list = tensors.ToList();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, _) in list)
        {
            if (name == "__metadata__") throw new ArgumentException("'__metadata__' is reserved and cannot name a tensor");
            if (!names.Add(name)) throw new ArgumentException($"duplicate tensor name '{name}'");
        }

        using var headerStream = new MemoryStream();
        using (var json = new Utf8JsonWriter(headerStream))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata) json.WriteString(k, v);
                json.WriteEndObject();
            }

            long offset = 0;
            foreach (var (name, t) in list)
            {
                var bytes = t.ByteSize;
                json.WriteStartObject(name);
                json.WriteString("dtype", SafetensorsDType.Name(t.DType));
                json.WriteStartArray("shape");
                foreach (var d in t.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }

            json.WriteEndObject();
        }

        // Pad the header with spaces to 8 bytes so the data section is aligned, as the reference writer does.
        var header = headerStream.ToArray();
        var padded = (header.Length + 7) / 8 * 8;
        var temp = path + ".tmp-" + Guid.NewGuid().ToString("N");
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                Span<byte> len = stackalloc byte[8];
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)padded);
                file.Write(len);
                file.Write(header);
                for (var i = header.Length; i < padded; i++) file.WriteByte((byte)' ');
                foreach (var (_, t) in list)
                {
                    var buffer = new byte[t.ByteSize];
                    t.CopyBytesTo(buffer);
                    file.Write(buffer);
                }
            }

            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
