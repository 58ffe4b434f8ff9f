using System.Text.Json.Serialization;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Schedulers;

/// <summary>
/// A tensor as plain data inside a <see cref="SchedulerState"/>: dtype, shape and the raw little-endian element
/// bytes (exact for every dtype; System.Text.Json writes them as base64).
/// </summary>
public sealed record StateTensor
{
    /// <summary>Element type.</summary>
    [JsonConverter(typeof(JsonStringEnumConverter<DType>))]
    public required DType DType { get; init; }

    /// <summary>Size of every dimension.</summary>
    public required long[] Shape { get; init; }

    /// <summary>The elements in row-major order, little-endian.</summary>
    public required byte[] Data { get; init; }

    /// <summary>Copies <paramref name="tensor"/> (from any device) into plain data.</summary>
    public static StateTensor From(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var data = new byte[tensor.ByteSize];
        tensor.CopyBytesTo(data);
        return new StateTensor { DType = tensor.DType, Shape = tensor.Shape, Data = data };
    }

    /// <summary>A new tensor with these elements on <paramref name="device"/> (the CPU by default).</summary>
    /// <exception cref="ArgumentException">The byte count does not match the shape and dtype.</exception>
    public unsafe Tensor ToTensor(Device? device = null)
    {
        fixed (byte* p = Data)
        {
            return Tensor.FromPointer(p, Data.Length, DType, Shape, DType, device ?? Device.Cpu);
        }
    }
}
