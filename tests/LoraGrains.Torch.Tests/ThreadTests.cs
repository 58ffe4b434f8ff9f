namespace LoraGrains.Torch.Tests;

/// <summary>
/// <see cref="Torch.NumThreads"/> is process-wide. Runs with the memory tests (not in parallel) because it changes a
/// setting every other test's ops read.
/// </summary>
[Collection(MemoryCollection.Name)]
public sealed class ThreadTests
{
    [Fact]
    public void NumThreads_set_get_round_trip()
    {
        var original = Torch.NumThreads;
        Assert.True(original >= 1);
        try
        {
            foreach (var n in new[] { 1, 3, 2 })
            {
                Torch.NumThreads = n;
                Assert.Equal(n, Torch.NumThreads);
            }
        }
        finally
        {
            Torch.NumThreads = original;
        }

        Assert.Equal(original, Torch.NumThreads);
    }

    [Fact]
    public void NumThreads_set_on_one_thread_applies_on_threads_that_already_ran_ops()
    {
        // With libtorch's OpenMP backend the count is per OS thread and copied only on a thread's first op; the shim
        // re-applies the last set value, so a worker that ran ops before the change still sees it.
        var original = Torch.NumThreads;
        var target = original == 3 ? 2 : 3;
        using var ready = new ManualResetEventSlim();
        using var changed = new ManualResetEventSlim();
        int seenBefore = 0, seen = 0;
        var worker = new Thread(() =>
        {
            // A parallel reduction (and reading the setting) makes libtorch initialise this thread's count.
            using (var a = Torch.Ones([1 << 16]))
            using (a.Sum())
            {
            }

            seenBefore = Torch.NumThreads;
            ready.Set();
            changed.Wait();
            seen = Torch.NumThreads;
        });
        try
        {
            worker.Start();
            ready.Wait();
            Torch.NumThreads = target;
            changed.Set();
            worker.Join();
            Assert.Equal(original, seenBefore);
            Assert.Equal(target, seen);
        }
        finally
        {
            changed.Set();
            Torch.NumThreads = original;
        }
    }

    [Fact]
    public void LibtorchVersion_is_reported()
    {
        var v = Torch.LibtorchVersion;
        Assert.True(v.Major >= 1, v.ToString());
    }
}
