namespace LoraGrains.Torch;

/// <summary>Element type of a tensor (codes match the native shim).</summary>
public enum DType
{
    /// <summary>32-bit IEEE float (torch.float32).</summary>
    Float32 = 0,
    /// <summary>16-bit IEEE float (torch.float16).</summary>
    Float16 = 1,
    /// <summary>16-bit brain float (torch.bfloat16).</summary>
    BFloat16 = 2,
    /// <summary>64-bit signed integer (torch.int64).</summary>
    Int64 = 3,
    /// <summary>32-bit signed integer (torch.int32).</summary>
    Int32 = 4,
    /// <summary>8-bit unsigned integer (torch.uint8).</summary>
    UInt8 = 5,
    /// <summary>Boolean (torch.bool).</summary>
    Bool = 6,
    /// <summary>64-bit IEEE float (torch.float64).</summary>
    Float64 = 7,
    /// <summary>8-bit signed integer (torch.int8).</summary>
    Int8 = 8,
    /// <summary>16-bit signed integer (torch.int16).</summary>
    Int16 = 9,
}

/// <summary>Facts about <see cref="DType"/> values.</summary>
public static class DTypeExtensions
{
    /// <summary>Size of one element in bytes.</summary>
    public static int ElementSize(this DType type) => type switch
    {
        DType.Float32 or DType.Int32 => 4,
        DType.Float16 or DType.BFloat16 or DType.Int16 => 2,
        DType.Int64 or DType.Float64 => 8,
        DType.UInt8 or DType.Bool or DType.Int8 => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown dtype"),
    };

    /// <summary>True for the floating-point types.</summary>
    public static bool IsFloatingPoint(this DType type) =>
        type is DType.Float32 or DType.Float16 or DType.BFloat16 or DType.Float64;

    /// <summary>The dtype that stores elements of the managed type <typeparamref name="T"/>.</summary>
    public static DType Of<T>() where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return DType.Float32;
        if (typeof(T) == typeof(Half)) return DType.Float16;
        if (typeof(T) == typeof(long)) return DType.Int64;
        if (typeof(T) == typeof(int)) return DType.Int32;
        if (typeof(T) == typeof(byte)) return DType.UInt8;
        if (typeof(T) == typeof(bool)) return DType.Bool;
        if (typeof(T) == typeof(double)) return DType.Float64;
        if (typeof(T) == typeof(sbyte)) return DType.Int8;
        if (typeof(T) == typeof(short)) return DType.Int16;
        throw new NotSupportedException($"no tensor dtype for managed type {typeof(T).Name}");
    }
}
