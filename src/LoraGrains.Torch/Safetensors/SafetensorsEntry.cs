namespace LoraGrains.Torch.Safetensors;

/// <summary>One tensor of a safetensors file: its name, element type, shape and byte range in the data section.</summary>
public sealed record SafetensorsEntry(string Name, DType DType, long[] Shape, long Begin, long End)
{
    /// <summary>Number of bytes the tensor occupies.</summary>
    public long ByteLength => End - Begin;

    /// <summary>Number of elements.</summary>
    public long NumEl => Shape.Aggregate(1L, (a, b) => a * b);
}
