namespace LoraGrains.Torch.Safetensors;

/// <summary>The dtype names of the safetensors format.</summary>
internal static class SafetensorsDType
{
    internal static bool TryParse(string name, out DType type)
    {
        type = name switch
        {
            "F32" => DType.Float32,
            "F16" => DType.Float16,
            "BF16" => DType.BFloat16,
            "F64" => DType.Float64,
            "I64" => DType.Int64,
            "I32" => DType.Int32,
            "I16" => DType.Int16,
            "I8" => DType.Int8,
            "U8" => DType.UInt8,
            "BOOL" => DType.Bool,
            _ => (DType)(-1),
        };
        return (int)type >= 0;
    }

    internal static string Name(DType type) => type switch
    {
        DType.Float32 => "F32",
        DType.Float16 => "F16",
        DType.BFloat16 => "BF16",
        DType.Float64 => "F64",
        DType.Int64 => "I64",
        DType.Int32 => "I32",
        DType.Int16 => "I16",
        DType.Int8 => "I8",
        DType.UInt8 => "U8",
        DType.Bool => "BOOL",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "no safetensors name"),
    };
}
