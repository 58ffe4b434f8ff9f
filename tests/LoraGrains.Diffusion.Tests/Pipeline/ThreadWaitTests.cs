using LoraGrains.Diffusion.Pipeline;

namespace LoraGrains.Diffusion.Tests.Pipeline;

/// <summary>The pipeline thread's wait for a peer's pass: the result, or the pass's own exception, once it has finished.</summary>
public sealed class ThreadWaitTests
{
    [Fact]
    public void Returns_the_result_of_a_task_finished_later_by_another_thread()
    {
        var pass = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var finisher = new Timer(_ => pass.SetResult("noise"), null, 50, Timeout.Infinite);
        Assert.Equal("noise", ThreadWait.Result(pass.Task));
    }

    [Fact]
    public void Throws_the_tasks_own_exception_not_an_aggregate()
    {
        var pass = new TaskCompletionSource<string>();
        using var finisher = new Timer(_ => pass.SetException(new HttpRequestException("peer gone")), null, 20, Timeout.Infinite);
        var error = Assert.Throws<HttpRequestException>(() => ThreadWait.Result(pass.Task));
        Assert.Equal("peer gone", error.Message);
    }

    [Fact]
    public void Waits_for_a_task_without_a_result_and_throws_its_own_exception()
    {
        var write = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (new Timer(_ => write.SetResult(), null, 50, Timeout.Infinite))
        {
            ThreadWait.Wait(write.Task);
        }

        Assert.True(write.Task.IsCompletedSuccessfully);
        var lost = new TaskCompletionSource();
        using var finisher = new Timer(_ => lost.SetException(new InvalidOperationException("lease lost")), null, 20, Timeout.Infinite);
        Assert.Equal("lease lost", Assert.Throws<InvalidOperationException>(() => ThreadWait.Wait(lost.Task)).Message);
    }

    [Fact]
    public void A_finished_task_returns_at_once()
    {
        Assert.Equal(3, ThreadWait.Result(Task.FromResult(3)));
    }
}
