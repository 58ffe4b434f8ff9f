namespace LoraGrains.Torch.Tests;

/// <summary>Page-locked host memory and non-blocking copies: what works without CUDA and what needs it.</summary>
public sealed class PinnedMemoryTests
{
    [Fact]
    public void Pinning_needs_cuda_and_says_so_without_it()
    {
        using var scope = TensorScope.Enter();
        var t = Ref.Seq([4, 3], 5);
        Assert.False(t.IsPinned);
        if (Device.IsCudaAvailable)
        {
            Assert.True(t.PinMemory().IsPinned);
            return;
        }

        var e = Assert.Throws<TorchException>(() => t.PinMemory());
        Assert.Contains("pinned host memory needs CUDA", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Non_blocking_copy_on_the_cpu_is_an_exact_independent_copy()
    {
        using var scope = TensorScope.Enter();
        var t = Ref.Seq([4, 3], 5);
        var copy = t.To(Device.Cpu, DType.Float32, copy: true, nonBlocking: true);
        Assert.True(copy.ContentEquals(t));
        copy.Fill(0);
        Assert.False(copy.ContentEquals(t));   // a copy, never a view of the source
        Assert.Equal(Ref.SeqValues(12, 5), t.ToArray<float>());
        Assert.Equal(12 * 4, t.ByteSize);
        Assert.Equal(12 * 2, t.To(DType.Float16).ByteSize);
    }

    [CudaFact]
    public void PinMemory_on_cuda_gives_pinned_memory_that_copies_back_exactly()
    {
        using var scope = TensorScope.Enter();
        var t = Ref.Seq([64, 32], 7);
        var pinned = t.PinMemory();
        Assert.True(pinned.IsPinned);
        Assert.False(t.IsPinned);
        Assert.Equal(Device.Cpu, pinned.Device);
        var gpu = pinned.To(Device.Cuda(), DType.Float16, copy: true, nonBlocking: true);
        var back = gpu.To(Device.Cpu, DType.Float32);      // ordered after the asynchronous copy on the same stream
        Assert.True(back.ContentEquals(t.To(DType.Float16).To(DType.Float32)));
        Assert.Throws<TorchException>(() => gpu.PinMemory());
    }
}
