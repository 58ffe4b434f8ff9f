namespace LoraGrains.Diffusion.Pipeline;

/// <summary>
/// Blocks a thread that has nothing else to do until a task finishes, without spinning first. <c>Task.Wait</c> and
/// <c>GetAwaiter().GetResult()</c> spin with <c>sched_yield</c> before they block, and Linux's scheduler then wakes the
/// thread late whenever its waker keeps running: 1.8 ms p50 against 0.05 ms for a plain blocking wait on the 2-core VM
/// of docs/benchmarks.md (session 5), paid once per remote pass of a distributed step (and once per checkpoint write).
/// </summary>
public static class ThreadWait
{
    /// <summary>The task's result (or its exception, as <c>GetAwaiter().GetResult()</c> throws it) once it has finished.</summary>
    public static T Result<T>(Task<T> task)
    {
        Block(task);
        return task.GetAwaiter().GetResult();
    }

    /// <summary>Returns once the task has finished (throwing its exception, as <c>GetAwaiter().GetResult()</c> does).</summary>
    public static void Wait(Task task)
    {
        Block(task);
        task.GetAwaiter().GetResult();
    }

    private static void Block(Task task)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (!task.IsCompleted)
        {
            // The task's own event: a kernel wait with no spin phase.
            ((IAsyncResult)task).AsyncWaitHandle.WaitOne();
        }
    }
}
