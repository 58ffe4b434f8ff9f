using System.Runtime.InteropServices;

namespace LoraGrains.Torch.Tests;

/// <summary>Large libtorch buffers come from glibc's heap, not from an mmap of their own, unless the environment tunes malloc.</summary>
public sealed partial class NativeHeapPolicyTests
{
    [Fact]
    public void A_large_tensor_is_served_from_the_heap_so_its_pages_are_reused()
    {
        if (Native.NativeHeapPolicy.Tuned())
        {
            return; // the environment decides, not the policy: nothing of ours to check
        }

        // Above glibc's largest mmap threshold (32 MiB), so always mapped by default; below the 64 MiB of an arena heap,
        // so a thread's own arena can hold it.
        const long Bytes = 48L << 20;
        var before = MappedBytes();
        using var tensor = Torch.Ones([Bytes / sizeof(float)]);
        var during = MappedBytes();
        Assert.True(during - before < Bytes, $"the {Bytes >> 20} MiB tensor was mapped on its own (mmapped bytes {before} → {during})");
    }

    // mallinfo2().hblkhd: bytes in chunks glibc allocated with mmap.
    private static long MappedBytes() => (long)mallinfo2().MappedBytes;

    [StructLayout(LayoutKind.Sequential)]
    private struct MallInfo2
    {
        public nuint Arena, OrdinaryBlocks, SmallBlocks, MappedBlocks, MappedBytes, MaxTotal, FreedSmallBytes, UsedBytes, FreeBytes, KeepCost;
    }

    [LibraryImport("libc.so.6")]
    private static partial MallInfo2 mallinfo2();
}
