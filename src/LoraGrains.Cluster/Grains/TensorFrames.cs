using System.Buffers.Binary;
using LoraGrains.Diffusion.Schedulers;
using LoraGrains.Torch;

namespace LoraGrains.Cluster.Grains;

/// <summary>
/// The tensors of a Composite pass and its answer on a denoise link: per tensor one dtype byte, one rank
/// byte, the dimensions as little-endian int64, then the raw little-endian elements. The elements travel as they are
/// in memory — no base64, no JSON — so a step's fan-out costs little more than the copies themselves.
/// </summary>
public static class TensorFrames
{
    /// <summary>Most dimensions a framed tensor may have.</summary>
    public const int MaxRank = 8;

    /// <summary>The frames of <paramref name="tensors"/> (on any device), in order, copied straight from their memory.</summary>
    /// <param name="tensors">The tensors.</param>
    /// <param name="offset">Bytes left free before the first frame, for the head of the message that carries them.</param>
    public static byte[] Encode(IReadOnlyList<Tensor> tensors, int offset = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentNullException.ThrowIfNull(tensors);
        var shapes = tensors.Select(t => t.Shape).ToArray();
        var size = (long)offset;
        for (var i = 0; i < tensors.Count; i++)
        {
            if (shapes[i].Length > MaxRank) throw new ArgumentException($"a tensor of rank {shapes[i].Length} cannot be framed (at most {MaxRank})", nameof(tensors));
            size += 2 + (8L * shapes[i].Length) + tensors[i].ByteSize;
        }

        var body = new byte[size];
        var at = offset;
        for (var i = 0; i < tensors.Count; i++)
        {
            body[at++] = (byte)tensors[i].DType;
            body[at++] = (byte)shapes[i].Length;
            foreach (var dim in shapes[i])
            {
                BinaryPrimitives.WriteInt64LittleEndian(body.AsSpan(at), dim);
                at += 8;
            }

            var bytes = (int)tensors[i].ByteSize;
            tensors[i].CopyBytesTo(body.AsSpan(at, bytes));
            at += bytes;
        }

        return body;
    }

    /// <summary>Reads exactly <paramref name="count"/> tensors from <paramref name="body"/>.</summary>
    /// <exception cref="FormatException">The body is not <paramref name="count"/> well-formed frames, with what is wrong.</exception>
    public static StateTensor[] Decode(ReadOnlySpan<byte> body, int count)
    {
        var tensors = new StateTensor[count];
        var at = 0;
        for (var i = 0; i < count; i++)
        {
            if (body.Length - at < 2) throw new FormatException($"tensor {i}: the body ends before its header ({body.Length} bytes)");
            var dtype = (DType)body[at];
            if (!Enum.IsDefined(dtype)) throw new FormatException($"tensor {i}: unknown dtype code {body[at]}");
            int rank = body[at + 1];
            if (rank > MaxRank) throw new FormatException($"tensor {i}: rank {rank} is above the limit of {MaxRank}");
            at += 2;
            if (body.Length - at < 8L * rank) throw new FormatException($"tensor {i}: the body ends inside its shape");
            var shape = new long[rank];
            var elements = 1L;
            for (var d = 0; d < rank; d++)
            {
                shape[d] = BinaryPrimitives.ReadInt64LittleEndian(body[at..]);
                at += 8;
                if (shape[d] < 0) throw new FormatException($"tensor {i}: dimension {d} is negative ({shape[d]})");
                // Saturates just past the body length: an absurd shape is refused below instead of overflowing.
                elements = shape[d] == 0 || elements == 0 ? 0 : elements > body.Length / shape[d] ? body.Length + 1L : elements * shape[d];
            }

            var bytes = Math.Min(elements, body.Length + 1L) * dtype.ElementSize();
            if (body.Length - at < bytes)
                throw new FormatException($"tensor {i}: shape [{string.Join(", ", shape)}] of {dtype} needs {bytes} bytes, {body.Length - at} are left");
            tensors[i] = new StateTensor { DType = dtype, Shape = shape, Data = body.Slice(at, (int)bytes).ToArray() };
            at += (int)bytes;
        }

        if (at != body.Length) throw new FormatException($"{body.Length - at} bytes follow the last of {count} tensors");
        return tensors;
    }
}
