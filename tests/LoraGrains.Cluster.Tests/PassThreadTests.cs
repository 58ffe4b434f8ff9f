using LoraGrains.Cluster.Runtime;

namespace LoraGrains.Cluster.Tests;

/// <summary>The silo's thread for peer passes: passes run off the thread pool, in order, and none is lost at shutdown.</summary>
public sealed class PassThreadTests
{
    [Fact]
    public async Task A_pass_runs_on_the_dedicated_thread_and_returns_its_result()
    {
        using var thread = new PassThread("denoiser");
        var (pooled, name, value) = await thread.RunAsync(() => (Thread.CurrentThread.IsThreadPoolThread, Thread.CurrentThread.Name, 42));
        Assert.False(pooled);
        Assert.Equal("denoiser", name);
        Assert.Equal(42, value);
    }

    [Fact]
    public async Task A_failing_pass_faults_its_task_and_the_thread_runs_the_next()
    {
        using var thread = new PassThread("denoiser");
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => thread.RunAsync<int>(() => throw new InvalidOperationException("tensors do not fit")));
        Assert.Equal("tensors do not fit", error.Message);
        Assert.Equal(7, await thread.RunAsync(() => 7));
    }

    [Fact]
    public async Task Passes_run_one_at_a_time_in_order_and_all_finish_before_dispose_returns()
    {
        var thread = new PassThread("denoiser");
        var running = 0;
        var overlapped = false;
        var order = new List<int>();
        var passes = Enumerable.Range(0, 20).Select(i => thread.RunAsync(() =>
        {
            overlapped |= Interlocked.Increment(ref running) > 1;
            Thread.Sleep(2);
            order.Add(i);
            Interlocked.Decrement(ref running);
            return i;
        })).ToList();

        thread.Dispose();
        Assert.All(passes, p => Assert.True(p.IsCompletedSuccessfully));
        Assert.Equal(Enumerable.Range(0, 20), await Task.WhenAll(passes));
        Assert.Equal(Enumerable.Range(0, 20), order);
        Assert.False(overlapped);
        Assert.Throws<ObjectDisposedException>(() => { _ = thread.RunAsync(() => 0); });
    }
}
