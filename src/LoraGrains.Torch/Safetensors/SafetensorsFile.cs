using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Text;
using System.Text.Json;

namespace LoraGrains.Torch.Safetensors;

/// <summary>
/// A memory-mapped safetensors file. Opening validates the whole header (length, JSON shape, dtypes,
/// shapes against byte ranges, overlaps and bounds) so a truncated or hostile file is rejected before
/// any tensor is read; <see cref="Load(string, Device?, DType?)"/> then copies one tensor straight from
/// the mapping to its device.
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    /// <summary>Largest header accepted by default (the reference implementation uses 100 MB).</summary>
    public const long DefaultMaxHeaderBytes = 100_000_000;

    private readonly MemoryMappedFile? map;
    private readonly MemoryMappedViewAccessor? view;
    private readonly byte* dataStart;
    private readonly Dictionary<string, SafetensorsEntry> entries;
    private bool pointerAcquired;

    private SafetensorsFile(string path, MemoryMappedFile? map, MemoryMappedViewAccessor? view, byte* dataStart,
        Dictionary<string, SafetensorsEntry> entries, IReadOnlyDictionary<string, string> metadata)
    {
        FilePath = path;
        this.map = map;
        this.view = view;
        this.dataStart = dataStart;
        this.entries = entries;
        Metadata = metadata;
        pointerAcquired = view is not null;
    }

    /// <summary>The file's path.</summary>
    public string FilePath { get; }

    /// <summary>The free-form <c>__metadata__</c> string map (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Every tensor in the file by name.</summary>
    public IReadOnlyDictionary<string, SafetensorsEntry> Entries => entries;

    /// <summary>Tensor names in data order.</summary>
    public IEnumerable<string> Names => entries.Values.OrderBy(e => e.Begin).Select(e => e.Name);

    /// <summary>True when the file holds a tensor called <paramref name="name"/>.</summary>
    public bool Contains(string name) => entries.ContainsKey(name);

    /// <summary>Opens and validates <paramref name="path"/>.</summary>
    /// <exception cref="SafetensorsException">The file is truncated, malformed or unsupported.</exception>
    public static SafetensorsFile Open(string path, long maxHeaderBytes = DefaultMaxHeaderBytes)
    {
        ArgumentNullException.ThrowIfNull(path);
        long fileLength;
        try
        {
            fileLength = new FileInfo(path).Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SafetensorsException(path, "cannot be read: " + e.Message, e);
        }

        if (!File.Exists(path)) throw new SafetensorsException(path, "file not found");
        if (fileLength < 8)
            throw new SafetensorsException(path, $"file is {fileLength} bytes, too short for the 8-byte header length");

        var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        MemoryMappedViewAccessor? view = null;
        var acquired = false;
        try
        {
            view = map.CreateViewAccessor(0, fileLength, MemoryMappedFileAccess.Read);
            byte* basePtr = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref basePtr);
            acquired = true;
            basePtr += view.PointerOffset;

            var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(basePtr, 8));
            if (headerLength > (ulong)maxHeaderBytes)
                throw new SafetensorsException(path, $"header length {headerLength} exceeds the limit of {maxHeaderBytes} bytes");
            if (8 + (long)headerLength > fileLength)
                throw new SafetensorsException(path, $"header length {headerLength} runs past the end of the file ({fileLength} bytes): truncated or not a safetensors file");

            var header = new ReadOnlySpan<byte>(basePtr + 8, (int)headerLength);
            var dataLength = fileLength - 8 - (long)headerLength;
            var (entries, metadata) = ParseHeader(path, header, dataLength);
            return new SafetensorsFile(path, map, view, basePtr + 8 + (long)headerLength, entries, metadata);
        }
        catch
        {
            if (acquired) view!.SafeMemoryMappedViewHandle.ReleasePointer();
            view?.Dispose();
            map.Dispose();
            throw;
        }
    }

    private static (Dictionary<string, SafetensorsEntry>, IReadOnlyDictionary<string, string>) ParseHeader(
        string path, ReadOnlySpan<byte> header, long dataLength)
    {
        JsonDocument doc;
        try
        {
            var text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(header);
            doc = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (Exception e) when (e is JsonException or DecoderFallbackException or ArgumentException)
        {
            throw new SafetensorsException(path, "header is not valid UTF-8 JSON: " + e.Message, e);
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new SafetensorsException(path, $"header must be a JSON object, found {doc.RootElement.ValueKind}");

            var entries = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var seenMetadata = false;
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    if (seenMetadata) throw new SafetensorsException(path, "duplicate __metadata__");
                    seenMetadata = true;
                    ReadMetadata(path, prop.Value, metadata);
                    continue;
                }

                if (entries.ContainsKey(prop.Name))
                    throw new SafetensorsException(path, $"duplicate tensor name '{prop.Name}'");
                entries.Add(prop.Name, ReadEntry(path, prop.Name, prop.Value, dataLength));
            }

            CheckLayout(path, entries.Values, dataLength);
            return (entries, metadata);
        }
    }

    private static void ReadMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new SafetensorsException(path, "__metadata__ must be an object of strings");
        foreach (var m in value.EnumerateObject())
        {
            if (m.Value.ValueKind != JsonValueKind.String)
                throw new SafetensorsException(path, $"__metadata__ value '{m.Name}' is {m.Value.ValueKind}, expected a string");
            metadata[m.Name] = m.Value.GetString()!;
        }
    }

    private static SafetensorsEntry ReadEntry(string path, string name, JsonElement value, long dataLength)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new SafetensorsException(path, $"tensor '{name}': expected an object with dtype, shape and data_offsets");
        if (!value.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String)
            throw new SafetensorsException(path, $"tensor '{name}': missing or non-string dtype");
        if (!SafetensorsDType.TryParse(dt.GetString()!, out var dtype))
            throw new SafetensorsException(path, $"tensor '{name}': unsupported dtype '{dt.GetString()}'");
        if (!value.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array)
            throw new SafetensorsException(path, $"tensor '{name}': missing or non-array shape");
        if (!value.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw new SafetensorsException(path, $"tensor '{name}': data_offsets must be an array [begin, end]");

        var shape = new long[sh.GetArrayLength()];
        var i = 0;
        long numel = 1;
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out var n) || n < 0)
                throw new SafetensorsException(path, $"tensor '{name}': shape entries must be non-negative integers, found {d.GetRawText()}");
            shape[i++] = n;
            try
            {
                numel = checked(numel * n);
            }
            catch (OverflowException)
            {
                throw new SafetensorsException(path, $"tensor '{name}': shape [{string.Join(", ", shape.Take(i))}...] overflows");
            }
        }

        long begin = ReadOffset(path, name, off[0]), end = ReadOffset(path, name, off[1]);
        if (end < begin)
            throw new SafetensorsException(path, $"tensor '{name}': data_offsets [{begin}, {end}] end before they begin");
        if (end > dataLength)
            throw new SafetensorsException(path, $"tensor '{name}': data_offsets [{begin}, {end}] run past the data section ({dataLength} bytes): file truncated?");
        long needed;
        try
        {
            needed = checked(numel * dtype.ElementSize());
        }
        catch (OverflowException)
        {
            throw new SafetensorsException(path, $"tensor '{name}': shape overflows");
        }

        if (needed != end - begin)
        {
            throw new SafetensorsException(path,
                $"tensor '{name}': shape [{string.Join(", ", shape)}] of {SafetensorsDType.Name(dtype)} needs {needed} bytes but data_offsets [{begin}, {end}] hold {end - begin}");
        }

        return new SafetensorsEntry(name, dtype, shape, begin, end);
    }

    private static long ReadOffset(string path, string name, JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt64(out var v) || v < 0)
            throw new SafetensorsException(path, $"tensor '{name}': data_offsets must be non-negative integers, found {e.GetRawText()}");
        return v;
    }

    // The format requires the tensors to tile the data section exactly: no overlaps, no gaps.
    private static void CheckLayout(string path, IEnumerable<SafetensorsEntry> entries, long dataLength)
    {
        long expected = 0;
        SafetensorsEntry? previous = null;
        foreach (var e in entries.OrderBy(e => e.Begin).ThenBy(e => e.End))
        {
            if (e.Begin < expected)
                throw new SafetensorsException(path, $"tensor '{e.Name}' [{e.Begin}, {e.End}] overlaps tensor '{previous!.Name}' [{previous.Begin}, {previous.End}]");
            if (e.Begin > expected)
                throw new SafetensorsException(path, $"gap in the data section before tensor '{e.Name}' (bytes {expected}..{e.Begin} belong to no tensor)");
            expected = e.End;
            previous = e;
        }

        if (expected != dataLength)
            throw new SafetensorsException(path, $"data section is {dataLength} bytes but the tensors cover {expected}: the file is padded or truncated");
    }

    /// <summary>The entry for <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such tensor; the message names the file.</exception>
    public SafetensorsEntry this[string name] =>
        entries.TryGetValue(name, out var e) ? e : throw new KeyNotFoundException($"{FilePath}: no tensor named '{name}'");

    /// <summary>The raw bytes of a tensor inside the mapping (valid until the file is disposed).</summary>
    public ReadOnlySpan<byte> GetBytes(SafetensorsEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ObjectDisposedException.ThrowIf(!pointerAcquired, this);
        return new ReadOnlySpan<byte>(dataStart + entry.Begin, checked((int)entry.ByteLength));
    }

    /// <summary>
    /// Loads tensor <paramref name="name"/> onto <paramref name="device"/> (CPU by default), converted to
    /// <paramref name="dtype"/> (the stored type by default), with a single copy out of the mapping.
    /// </summary>
    public Tensor Load(string name, Device? device = null, DType? dtype = null) => Load(this[name], device, dtype);

    /// <summary>Loads <paramref name="entry"/>; see <see cref="Load(string, Device?, DType?)"/>.</summary>
    public Tensor Load(SafetensorsEntry entry, Device? device = null, DType? dtype = null)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ObjectDisposedException.ThrowIf(!pointerAcquired, this);
        return Tensor.FromPointer(dataStart + entry.Begin, entry.ByteLength, entry.DType, entry.Shape, dtype ?? entry.DType, device ?? Device.Cpu);
    }

    /// <summary>Unmaps the file.</summary>
    public void Dispose()
    {
        if (pointerAcquired)
        {
            view!.SafeMemoryMappedViewHandle.ReleasePointer();
            pointerAcquired = false;
        }

        view?.Dispose();
        map?.Dispose();
    }
}
