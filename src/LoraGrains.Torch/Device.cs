using System.Globalization;
using LoraGrains.Torch.Native;

namespace LoraGrains.Torch;

/// <summary>Kind of compute device.</summary>
public enum DeviceType
{
    /// <summary>The host CPU.</summary>
    Cpu = 0,
    /// <summary>An NVIDIA GPU through CUDA.</summary>
    Cuda = 1,
}

/// <summary>A compute device: <c>cpu</c> or <c>cuda:N</c>.</summary>
public readonly record struct Device(DeviceType Type, int Index = -1)
{
    /// <summary>The host CPU.</summary>
    public static Device Cpu { get; } = new(DeviceType.Cpu);

    /// <summary>The CUDA device with the given ordinal.</summary>
    public static Device Cuda(int index = 0) => new(DeviceType.Cuda, index);

    /// <summary>True when the loaded libtorch has CUDA and at least one GPU is visible.</summary>
    public static bool IsCudaAvailable => CudaDeviceCount > 0;

    /// <summary>Number of visible CUDA devices (0 with a CPU-only libtorch).</summary>
    public static int CudaDeviceCount
    {
        get
        {
            Status.Check(NativeMethods.lg_cuda_device_count(out var n));
            return n;
        }
    }

    /// <summary>True for a CUDA device.</summary>
    public bool IsCuda => Type == DeviceType.Cuda;

    /// <summary>Parses <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</summary>
    public static Device Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var t = text.Trim().ToLowerInvariant();
        if (t == "cpu") return Cpu;
        if (t == "cuda") return Cuda(0);
        if (t.StartsWith("cuda:", StringComparison.Ordinal)
            && int.TryParse(t.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
        {
            return Cuda(index);
        }

        throw new FormatException($"unknown device '{text}': expected cpu, cuda or cuda:N");
    }

    /// <summary>Waits for all queued work on this device (a no-op on the CPU).</summary>
    public void Synchronize()
    {
        if (IsCuda) Status.Check(NativeMethods.lg_cuda_synchronize(Math.Max(Index, 0)));
    }

    /// <inheritdoc />
    public override string ToString() => Type == DeviceType.Cpu ? "cpu" : $"cuda:{Math.Max(Index, 0)}";
}
