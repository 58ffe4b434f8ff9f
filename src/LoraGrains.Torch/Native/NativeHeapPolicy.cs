using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LoraGrains.Torch.Native;

/// <summary>
/// Keeps libtorch's large CPU buffers in glibc's heap, warm, instead of handing them back to the kernel on every free.
/// By default glibc maps each allocation above its (dynamic, at most 32 MiB) threshold afresh and trims freed heap
/// beyond 2× that threshold with <c>madvise</c>, so every UNet pass page-faults its working set again: 4.4 million
/// faults and 40–50 % kernel time per pass of the tiny UNet at (2,4,64,64); in a multi-threaded process each unmap
/// also stalls the other threads (TLB shoot-downs, the address-space lock). With mmap off and trimming at 2 GiB,
/// freed buffers are reused; the price is that the process keeps its peak heap, as PyTorch's caching allocator does
/// on GPUs. glibc still maps what no heap can hold (above 64 MiB outside the main thread). Measured in
/// docs/benchmarks.md. Skipped when the environment already tunes malloc (<c>GLIBC_TUNABLES</c> or <c>MALLOC_*_</c>).
/// </summary>
internal static partial class NativeHeapPolicy
{
    private const int TrimThreshold = -1; // M_TRIM_THRESHOLD
    private const int MmapMax = -4; // M_MMAP_MAX

    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255", Justification = "Must run before libtorch allocates its first tensor.")]
    internal static void Apply()
    {
        if (!OperatingSystem.IsLinux() || Tuned()) return;
        try
        {
            _ = mallopt(MmapMax, 0);
            _ = mallopt(TrimThreshold, int.MaxValue);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc: its allocator keeps its defaults.
        }
    }

    /// <summary>Whether the environment tunes glibc's malloc itself, in which case this policy leaves it alone.</summary>
    internal static bool Tuned() =>
        Environment.GetEnvironmentVariable("GLIBC_TUNABLES") is { } tunables && tunables.Contains("glibc.malloc.", StringComparison.Ordinal)
        || Environment.GetEnvironmentVariable("MALLOC_MMAP_MAX_") is not null
        || Environment.GetEnvironmentVariable("MALLOC_TRIM_THRESHOLD_") is not null
        || Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") is not null;

    [LibraryImport("libc.so.6", EntryPoint = "mallopt")]
    private static partial int mallopt(int parameter, int value);
}
