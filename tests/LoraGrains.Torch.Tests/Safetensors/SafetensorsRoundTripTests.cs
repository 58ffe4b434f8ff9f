using LoraGrains.Torch.Safetensors;

namespace LoraGrains.Torch.Tests.Safetensors;

public sealed class SafetensorsRoundTripTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lg-st-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float16)]
    [InlineData(DType.BFloat16)]
    [InlineData(DType.Float64)]
    [InlineData(DType.Int64)]
    [InlineData(DType.Int32)]
    [InlineData(DType.Int16)]
    [InlineData(DType.Int8)]
    [InlineData(DType.UInt8)]
    [InlineData(DType.Bool)]
    public void Every_dtype_round_trips_bit_exactly(DType dtype)
    {
        var path = Path.Combine(dir, $"{dtype}.safetensors");
        // Values representable in every dtype (small integers), so the conversion itself is exact.
        using var source = Torch.Arange(-3, 9, 1, DType.Float32).Reshape(3, 4);
        using var original = dtype == DType.Bool ? source.Gt(0) : dtype == DType.UInt8 ? (source + 3).To(dtype) : source.To(dtype);
        using var scalar = Torch.Scalar(7, dtype == DType.Bool ? DType.Bool : dtype);
        SafetensorsWriter.Write(path, [new("matrix", original), new("scalar", scalar)], new Dictionary<string, string> { ["format"] = "pt" });

        using var file = SafetensorsFile.Open(path);
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal(dtype, file["matrix"].DType);
        Assert.Equal([3L, 4L], file["matrix"].Shape);
        Assert.Empty(file["scalar"].Shape);
        using var loaded = file.Load("matrix");
        Assert.Equal(dtype, loaded.DType);
        Assert.True(loaded.ContentEquals(original));
        using var loadedScalar = file.Load("scalar");
        Assert.True(loadedScalar.ContentEquals(scalar));
    }

    [Fact]
    public void Load_converts_dtype_in_one_step()
    {
        var path = Path.Combine(dir, "half.safetensors");
        using var half = Torch.Full([2, 2], 0.5, DType.Float16);
        SafetensorsWriter.Write(path, [new("h", half)]);
        using var file = SafetensorsFile.Open(path);
        using var f32 = file.Load("h", Device.Cpu, DType.Float32);
        Assert.Equal(DType.Float32, f32.DType);
        Assert.All(f32.ToArray<float>(), v => Assert.Equal(0.5f, v));
    }

    [Fact]
    public void Header_is_padded_to_eight_bytes_and_tensors_tile_the_data()
    {
        var path = Path.Combine(dir, "layout.safetensors");
        using var a = Torch.Ones([3], DType.UInt8);
        using var b = Torch.Ones([5], DType.Float32);
        SafetensorsWriter.Write(path, [new("a", a), new("b", b)]);
        var bytes = File.ReadAllBytes(path);
        var headerLength = BitConverter.ToInt64(bytes, 0);
        Assert.Equal(0, headerLength % 8);
        Assert.Equal(8 + headerLength + 3 + 20, bytes.Length);
    }

    [Fact]
    public void A_failed_write_leaves_no_file_behind()
    {
        var path = Path.Combine(dir, "dup.safetensors");
        using var a = Torch.Ones([1]);
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(path, [new("x", a), new("x", a)]));
        Assert.Empty(Directory.GetFiles(dir));
    }
}
