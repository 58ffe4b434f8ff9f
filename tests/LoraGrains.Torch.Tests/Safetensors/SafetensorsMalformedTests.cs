using System.Buffers.Binary;
using System.Text;
using LoraGrains.Torch.Safetensors;

namespace LoraGrains.Torch.Tests.Safetensors;

/// <summary>A corpus of malformed files; each must be rejected with its own message naming the file.</summary>
public sealed class SafetensorsMalformedTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lg-st-bad-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static byte[] File(string header, int dataBytes, long? declaredLength = null)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)(declaredLength ?? h.Length));
        h.CopyTo(bytes, 8);
        return bytes;
    }

    public static TheoryData<string, byte[], string> Corpus() => new()
    {
        { "empty", [], "too short for the 8-byte header length" },
        { "short", [1, 2, 3], "too short for the 8-byte header length" },
        { "header-past-end", File("{}", 0, declaredLength: 4096), "runs past the end of the file" },
        { "header-over-limit", File("{}", 0, declaredLength: 200_000_000), "exceeds the limit" },
        { "not-json", File("{\"a\": [1, 2", 0), "not valid UTF-8 JSON" },
        { "not-utf8", File("{\"\xff\": 1}", 0).Select((b, i) => i == 10 ? (byte)0xff : b).ToArray(), "not valid UTF-8 JSON" },
        { "root-array", File("[1,2,3]", 0), "must be a JSON object" },
        { "unknown-dtype", File("{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1), "unsupported dtype 'F8_E4M3'" },
        { "missing-shape", File("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4), "missing or non-array shape" },
        { "negative-dim", File("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4), "non-negative integers" },
        { "shape-vs-bytes", File("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", 12), "needs 16 bytes but data_offsets [0, 12] hold 12" },
        { "offsets-reversed", File("{\"w\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,0]}}", 4), "end before they begin" },
        { "offsets-past-data", File("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8), "run past the data section (8 bytes)" },
        { "overlap", File("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12), "overlaps tensor 'a'" },
        { "gap", File("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8), "gap in the data section" },
        { "trailing-bytes", File("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 12), "the tensors cover 4" },
        { "bad-metadata", File("{\"__metadata__\":{\"n\":3}}", 0), "__metadata__ value 'n' is Number" },
        { "offsets-not-pair", File("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4), "data_offsets must be an array [begin, end]" },
        { "huge-shape", File("{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,4]}}", 4), "overflows" },
        { "duplicate-name", File("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", 2), "duplicate tensor name 'a'" },
    };

    [Theory]
    [MemberData(nameof(Corpus))]
    public void Malformed_file_is_rejected_with_a_clear_message(string name, byte[] content, string expected)
    {
        var path = Path.Combine(dir, name + ".safetensors");
        System.IO.File.WriteAllBytes(path, content);
        var e = Assert.Throws<SafetensorsException>(() => SafetensorsFile.Open(path));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_corpus_entry_has_its_own_message()
    {
        var expected = Corpus().Select(row => (string)row[2]).ToList();
        Assert.True(expected.Count >= 10);
        Assert.True(expected.Distinct().Count() >= 10);
    }

    [Fact]
    public void Truncated_real_file_is_rejected()
    {
        var good = Path.Combine(dir, "good.safetensors");
        using (var t = Torch.Ones([64, 64]))
        {
            SafetensorsWriter.Write(good, [new("w", t)]);
        }

        var bytes = System.IO.File.ReadAllBytes(good);
        var truncated = Path.Combine(dir, "truncated.safetensors");
        System.IO.File.WriteAllBytes(truncated, bytes[..^100]);
        var e = Assert.Throws<SafetensorsException>(() => SafetensorsFile.Open(truncated));
        Assert.Contains("run past the data section", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_file_is_named()
    {
        var path = Path.Combine(dir, "nope.safetensors");
        var e = Assert.Throws<SafetensorsException>(() => SafetensorsFile.Open(path));
        Assert.Contains("nope.safetensors", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_tensor_name_is_a_clear_error()
    {
        var path = Path.Combine(dir, "one.safetensors");
        using (var t = Torch.Ones([1]))
        {
            SafetensorsWriter.Write(path, [new("w", t)]);
        }

        using var file = SafetensorsFile.Open(path);
        var e = Assert.Throws<KeyNotFoundException>(() => file.Load("bias"));
        Assert.Contains("no tensor named 'bias'", e.Message, StringComparison.Ordinal);
    }
}
