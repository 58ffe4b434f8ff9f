namespace LoraGrains.Torch.Tests;

/// <summary>Failures inside libtorch surface as <see cref="TorchException"/> with libtorch's text and leave the process usable.</summary>
public sealed class ErrorTests
{
    [Fact]
    public void Matmul_shape_mismatch_carries_libtorch_message_and_the_next_call_works()
    {
        using var scope = TensorScope.Enter();
        var a = Torch.Ones([2, 3]);
        var b = Torch.Ones([4, 5]);
        var e = Assert.Throws<TorchException>(() => a.MatMul(b));
        // libtorch 1.13: "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)"
        Assert.Contains("cannot be multiplied", e.Message);
        Assert.Contains("2x3 and 4x5", e.Message);
        // The failed call leaves nothing half-done: the next op works and is right.
        Ref.Exact([4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4], [3, 5], Torch.Ones([3, 4]).MatMul(Torch.Ones([4, 5])));
    }

    [Fact]
    public void Other_libtorch_errors_are_TorchExceptions()
    {
        using var scope = TensorScope.Enter();
        var x = Ref.Arange(2, 3);
        Assert.Contains("view size is not compatible", Assert.Throws<TorchException>(() => x.Transpose(0, 1).View(6)).Message);
        Assert.Throws<TorchException>(() => x + Torch.Ones([4]));
        Assert.Throws<TorchException>(() => x.Bmm(x));
        Assert.Throws<TorchException>(() => Functional.Conv2d(Torch.Ones([1, 3, 4, 4]), Torch.Ones([2, 2, 3, 3])));
        Assert.Throws<TorchException>(() => x.Narrow(1, 2, 2));   // runs past the end of the dimension
        Assert.Throws<TorchException>(() => x.Select(0, 2));
        Assert.Throws<TorchException>(() => x.Split([2, 2], 1));   // sizes do not add up to 3
        Assert.Contains("6 elements", Assert.Throws<TorchException>(() => x.Item()).Message);
        Assert.Throws<TorchException>(() => Functional.Pad(x, [1, 2, 3]));
    }

    [Fact]
    public void Out_of_memory_is_a_TorchOutOfMemoryException_and_the_process_keeps_working()
    {
        // 4 TiB of float32: far beyond this machine, refused by the allocator rather than overcommitted.
        var e = Assert.Throws<TorchOutOfMemoryException>(() => Torch.Empty([1L << 40]));
        Assert.Contains("can't allocate memory", e.Message); // libtorch's own text, e.g. "...you tried to allocate 4398046511104 bytes"
        using var t = Torch.Ones([1024, 1024]);
        using var sum = t.Sum();
        Assert.Equal(1024 * 1024, sum.Item());
    }

    [Fact]
    public void Unknown_dtype_code_is_reported_clearly()
    {
        var e = Assert.Throws<TorchException>(() => Torch.Zeros([2], (DType)42));
        Assert.Equal("unknown dtype code 42", e.Message);
        using var x = Torch.Zeros([2]);
        Assert.Contains("unknown dtype code 99", Assert.Throws<TorchException>(() => x.To((DType)99)).Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Bad_thread_count_is_rejected_and_leaves_the_setting_alone(int n)
    {
        var before = Torch.NumThreads;
        var e = Assert.Throws<TorchException>(() => Torch.NumThreads = n);
        Assert.Equal($"thread count must be >= 1, got {n}", e.Message);
        Assert.Equal(before, Torch.NumThreads);
    }

    [Fact]
    public void Cuda_use_without_cuda_is_a_TorchException_not_a_crash()
    {
        if (Device.IsCudaAvailable) return; // only meaningful where CUDA is absent (CudaTests cover the other case)
        using var cpu = Torch.Ones([2]);
        foreach (var act in new Action[]
        {
            () => Torch.Zeros([2], device: Device.Cuda()),
            () => cpu.To(Device.Cuda()),
            () => Torch.Randn([2], device: Device.Cuda()),
            () => Tensor.FromArray([1f, 2f], 2).To(Device.Parse("cuda:1")),
            () => Tensor.FromSpan<float>([1f], [1], Device.Cuda()),
        })
        {
            // One clear sentence from the shim, not the dispatcher's list of every backend the op exists for.
            var e = Assert.Throws<TorchException>(act);
            Assert.Equal("CUDA device requested but CUDA is not available (CPU-only libtorch or no visible GPU)", e.Message);
        }

        Assert.Throws<TorchException>(() => Device.Cuda().Synchronize());
        Assert.Equal([1f, 1f], cpu.ToArray<float>());
    }

    [Fact]
    public void Managed_argument_errors_are_caught_before_the_native_call()
    {
        using var scope = TensorScope.Enter();
        var x = Torch.Ones([2, 2]);
        Assert.Throws<ArgumentException>(() => x.ToArray<int>());             // wrong element type
        Assert.Throws<ArgumentException>(() => x.CopyTo<float>(new float[3])); // wrong length
        Assert.Throws<ArgumentException>(() => Tensor.FromArray(new float[3], 2, 2));
        Assert.Throws<ArgumentException>(() => Tensor.FromArray(Array.Empty<float>(), -1, 0));
        Assert.Throws<ArgumentException>(() => Torch.Cat([]));
        Assert.Throws<ArgumentOutOfRangeException>(() => x.Chunk(0));
        Assert.Throws<NotSupportedException>(() => Tensor.FromArray(new char[2], 2));
    }

    [Fact]
    public void Using_a_disposed_tensor_throws_ObjectDisposedException()
    {
        var x = Torch.Ones([2]);
        x.Dispose();
        Assert.True(x.IsDisposed);
        x.Dispose(); // a second dispose is harmless
        Assert.Throws<ObjectDisposedException>(() => x.Exp());
        Assert.Throws<ObjectDisposedException>(() => x.ToArray<float>());
        Assert.Equal("Tensor(disposed)", x.ToString());
    }

    [Fact]
    public void Error_messages_are_per_thread()
    {
        // Each thread reads its own last error, so concurrent failures do not swap messages.
        var messages = new string[4];
        var threads = Enumerable.Range(0, messages.Length).Select(i => new Thread(() =>
        {
            for (var round = 0; round < 200; round++)
            {
                try
                {
                    using var z = Torch.Zeros([2], (DType)(100 + i));
                }
                catch (TorchException e)
                {
                    if (e.Message != $"unknown dtype code {100 + i}") messages[i] = e.Message;
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.All(messages, Assert.Null);
    }
}
