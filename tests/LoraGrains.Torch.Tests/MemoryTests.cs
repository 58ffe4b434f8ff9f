using System.Globalization;
using Xunit.Abstractions;

namespace LoraGrains.Torch.Tests;

/// <summary>Runs alone: resident-memory measurements are meaningless while other tests allocate.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryCollection
{
    /// <summary>Collection name.</summary>
    public const string Name = "Memory (not parallel)";
}

/// <summary>
/// Native memory is returned when tensors are disposed, explicitly or by a scope. Each cycle allocates 1 KiB tensors,
/// so a leak of either the tensor data or the shim's handle over 100k cycles would add well over 100 MB.
/// </summary>
[Collection(MemoryCollection.Name)]
public sealed class MemoryTests(ITestOutputHelper output)
{
    private const int Cycles = 100_000;
    private const long BoundBytes = 20L << 20;

    // Resident set size from /proc/self/statm (second field, in pages); Process.WorkingSet64 reads the same number on Linux.
    private static long ResidentBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var fields = File.ReadAllText("/proc/self/statm").Split(' ');
        return long.Parse(fields[1], CultureInfo.InvariantCulture) * Environment.SystemPageSize;
    }

    private long Growth(Action cycle)
    {
        // Warm-up: let the allocators, the JIT and libtorch's caches reach their steady size first.
        for (var i = 0; i < Cycles / 10; i++) cycle();
        var before = ResidentBytes();
        for (var i = 0; i < Cycles; i++) cycle();
        var growth = ResidentBytes() - before;
        output.WriteLine($"resident before {before >> 10} KiB, growth {growth >> 10} KiB over {Cycles} cycles");
        return growth;
    }

    [Fact]
    public void Create_dispose_cycles_keep_resident_memory_flat()
    {
        var growth = Growth(() =>
        {
            using var a = Torch.Full([256], 1.5);
            using var b = a * 2;
            using var c = b.Sum();
        });
        Assert.True(growth < BoundBytes, $"resident memory grew by {growth / 1024} KiB over {Cycles} cycles");
    }

    [Fact]
    public void Scoped_cycles_without_explicit_disposal_keep_resident_memory_flat()
    {
        var growth = Growth(() =>
        {
            using var scope = TensorScope.Enter();
            var a = Torch.Full([256], 1.5);
            var b = a * 2;
            var parts = b.Chunk(2);
            _ = parts[0].Sum();
        });
        Assert.True(growth < BoundBytes, $"resident memory grew by {growth / 1024} KiB over {Cycles} cycles");
        Assert.Null(TensorScope.Current);
    }
}
