using LoraGrains.Cluster.Grains;
using LoraGrains.Diffusion.Schedulers;
using LoraGrains.Torch;

namespace LoraGrains.Cluster.Tests;

/// <summary>The binary tensor frames of silo-to-silo calls: exact round trips, and a clear error for every malformed body.</summary>
public sealed class TensorFramesTests
{
    private static StateTensor Tensor(DType dtype, params long[] shape)
    {
        var bytes = new byte[shape.Aggregate(1L, (a, b) => a * b) * dtype.ElementSize()];
        new Random(shape.Length).NextBytes(bytes);
        if (dtype == DType.Bool)
        {
            // Frames are made from tensors, and a bool tensor's element is a byte holding 0 or 1.
            for (var i = 0; i < bytes.Length; i++) bytes[i] &= 1;
        }

        return new StateTensor { DType = dtype, Shape = shape, Data = bytes };
    }

    // The frames of tensors made from plain data.
    private static byte[] Encode(params StateTensor[] tensors)
    {
        var made = tensors.Select(t => t.ToTensor()).ToList();
        try
        {
            return TensorFrames.Encode(made);
        }
        finally
        {
            made.ForEach(t => t.Dispose());
        }
    }

    [Fact]
    public void Tensors_of_every_rank_and_dtype_round_trip_exactly()
    {
        StateTensor[] tensors = [Tensor(DType.Float32, 2, 4, 8, 8), Tensor(DType.Float32), Tensor(DType.Float16, 2, 77, 32), Tensor(DType.Int64, 0, 3), Tensor(DType.Bool, 5)];
        var decoded = TensorFrames.Decode(Encode(tensors), tensors.Length);
        for (var i = 0; i < tensors.Length; i++)
        {
            Assert.Equal(tensors[i].DType, decoded[i].DType);
            Assert.Equal(tensors[i].Shape, decoded[i].Shape);
            Assert.Equal(tensors[i].Data, decoded[i].Data);
        }
    }

    [Fact]
    public void Tensors_are_framed_straight_from_their_memory_as_their_copies_are()
    {
        using var generator = new Generator(3UL);
        using var sample = Torch.Torch.Randn([2, 4, 8, 8], generator);
        using var timestep = Torch.Torch.Scalar(500, DType.Float32);
        using var half = Torch.Torch.Randn([2, 7, 16], generator).To(DType.Float16);
        Torch.Tensor[] tensors = [sample, timestep, half];
        var framed = TensorFrames.Encode(tensors);
        // Each frame: dtype byte, rank byte, the dimensions as little-endian int64, then the elements as they are in memory.
        var expected = new List<byte>();
        foreach (var copy in tensors.Select(StateTensor.From))
        {
            expected.Add((byte)copy.DType);
            expected.Add((byte)copy.Shape.Length);
            foreach (var dim in copy.Shape) expected.AddRange(BitConverter.GetBytes(dim));
            expected.AddRange(copy.Data);
        }

        Assert.Equal(expected.ToArray(), framed);
        var decoded = TensorFrames.Decode(framed, 3);
        for (var i = 0; i < tensors.Length; i++)
        {
            using var back = decoded[i].ToTensor();
            Assert.True(back.ContentEquals(tensors[i]), $"tensor {i} changed on the way");
        }
    }

    [Fact]
    public void Malformed_bodies_are_refused_with_what_is_wrong()
    {
        var good = Encode(Tensor(DType.Float32, 2, 3));
        void Refused(byte[] body, int count, string expected)
        {
            var e = Assert.Throws<FormatException>(() => TensorFrames.Decode(body, count));
            Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        }

        Refused(good[..^1], 1, "needs 24 bytes, 23 are left");
        Refused(good[..10], 1, "ends inside its shape");
        Refused([], 1, "ends before its header");
        Refused([.. good, 0], 1, "1 bytes follow the last of 1 tensors");
        Refused(good, 2, "tensor 1: the body ends before its header");
        var badType = (byte[])good.Clone();
        badType[0] = 200;
        Refused(badType, 1, "unknown dtype code 200");
        var deep = (byte[])good.Clone();
        deep[1] = 9;
        Refused(deep, 1, "rank 9 is above the limit of 8");
        var negative = (byte[])good.Clone();
        BitConverter.GetBytes(-1L).CopyTo(negative, 2);
        Refused(negative, 1, "dimension 0 is negative");
        var huge = (byte[])good.Clone();
        BitConverter.GetBytes(long.MaxValue).CopyTo(huge, 2);
        BitConverter.GetBytes(long.MaxValue).CopyTo(huge, 10);
        Refused(huge, 1, "24 are left");
    }
}
