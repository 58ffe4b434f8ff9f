using LoraGrains.Cluster.Queue;

namespace LoraGrains.Cluster.Runtime;

/// <summary>
/// This silo's idle job worker's door. It wakes the worker when a job may be claimable: (SQLite) this silo accepted
/// one, or (PostgreSQL) the <see cref="JobNotificationListener"/> heard that one was submitted, re-queued or released
/// anywhere in the cluster, this silo included. A wake-up while the worker is busy is kept (one is enough), so its
/// next idle wait ends at once.
/// <para>
/// It also lets a submission accepted by this silo hand its job straight to the idle worker: the submission reserves
/// the worker (<see cref="TryReserve"/>), asks the queue to lease it the job in the submit's own transaction, and
/// hands over what it got (<see cref="HandOver"/>), the job or nothing. A reserved worker waits for that rather than
/// claiming, so the silo never holds two jobs.
/// </para>
/// </summary>
public sealed class JobSignal : IDisposable
{
    private const int Busy = 0, Idle = 1, Reserved = 2;

    private readonly SemaphoreSlim _signal = new(0, 1);
    private int _state = Busy;
    private TaskCompletionSource<ClaimedJob?> _handOver = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Whether the worker is idle now: waiting for a job, neither claiming, running nor reserved.</summary>
    public bool WorkerIdle => Volatile.Read(ref _state) == Idle;

    /// <summary>Says a job may be waiting.</summary>
    public void Notify()
    {
        try
        {
            if (_signal.CurrentCount == 0)
            {
                _signal.Release();
            }
        }
        catch (SemaphoreFullException)
        {
        }
    }

    /// <summary>
    /// Reserves the worker if it is idle. A caller that gets <see langword="true"/> must call <see cref="HandOver"/>
    /// exactly once, whatever happens.
    /// </summary>
    public bool TryReserve() => Interlocked.CompareExchange(ref _state, Reserved, Idle) == Idle;

    /// <summary>Ends a reservation: gives the worker the job leased to it, or <see langword="null"/> to let it claim.</summary>
    /// <param name="job">The job leased to this silo by the submission, if any.</param>
    public void HandOver(ClaimedJob? job)
    {
        _handOver.TrySetResult(job);
        // Ends the worker's idle wait if it is still in it.
        Notify();
    }

    /// <summary>
    /// Waits, idle, for a notification or the timeout (returns <see langword="null"/>: claim now) or for a job handed
    /// over by a submission. Returns <see langword="null"/> quietly when cancelled, unless a reservation is already
    /// under way: its job, if any, is returned, as it is already leased to this silo.
    /// </summary>
    public async Task<ClaimedJob?> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        // The hand-over's completion source is in place before the worker shows as idle.
        _handOver = new TaskCompletionSource<ClaimedJob?>(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _state, Idle);
        try
        {
            await _signal.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        if (Interlocked.CompareExchange(ref _state, Busy, Idle) == Idle)
        {
            return null;
        }

        // Reserved: the submission always hands over (its job, or nothing when it could not lease one), within its transaction's time.
        var job = await _handOver.Task.ConfigureAwait(false);
        Volatile.Write(ref _state, Busy);
        return job;
    }

    /// <inheritdoc />
    public void Dispose() => _signal.Dispose();
}
