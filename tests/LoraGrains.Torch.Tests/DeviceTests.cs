namespace LoraGrains.Torch.Tests;

/// <summary>Device parsing and CUDA detection (the CUDA-only checks are in <see cref="CudaTests"/>).</summary>
public sealed class DeviceTests
{
    [Theory]
    [InlineData("cpu", DeviceType.Cpu, -1, "cpu")]
    [InlineData(" CPU ", DeviceType.Cpu, -1, "cpu")]
    [InlineData("cuda", DeviceType.Cuda, 0, "cuda:0")]
    [InlineData("cuda:0", DeviceType.Cuda, 0, "cuda:0")]
    [InlineData("CUDA:3", DeviceType.Cuda, 3, "cuda:3")]
    public void Parse_accepts_cpu_cuda_and_cuda_n(string text, DeviceType type, int index, string printed)
    {
        var d = Device.Parse(text);
        Assert.Equal(new Device(type, index), d);
        Assert.Equal(printed, d.ToString());
        Assert.Equal(type == DeviceType.Cuda, d.IsCuda);
    }

    [Theory]
    [InlineData("")]
    [InlineData("gpu")]
    [InlineData("cuda:")]
    [InlineData("cuda:-1")]
    [InlineData("cuda:x")]
    [InlineData("cuda:1:2")]
    [InlineData("mps")]
    public void Parse_rejects_anything_else(string text)
    {
        var e = Assert.Throws<FormatException>(() => Device.Parse(text));
        Assert.Contains("expected cpu, cuda or cuda:N", e.Message);
    }

    [Fact]
    public void Cuda_availability_is_consistent_with_the_device_count()
    {
        Assert.Equal(Device.CudaDeviceCount > 0, Device.IsCudaAvailable);
        // Without the NVIDIA driver's device nodes no libtorch can see a GPU, whatever it was built with.
        if (!File.Exists("/dev/nvidiactl") && !Directory.EnumerateFiles("/dev", "nvidia*").Any())
        {
            Assert.False(Device.IsCudaAvailable);
            Assert.Equal(0, Device.CudaDeviceCount);
        }
    }

    [Fact]
    public void Cpu_tensors_report_the_cpu_device_and_synchronize_is_a_no_op()
    {
        using var t = Torch.Ones([1]);
        Assert.Equal(Device.Cpu, t.Device);
        Assert.False(t.Device.IsCuda);
        Device.Cpu.Synchronize();
        Assert.Equal("Tensor[1] float32 cpu", t.ToString());
    }
}
