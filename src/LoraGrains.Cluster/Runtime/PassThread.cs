namespace LoraGrains.Cluster.Runtime;

/// <summary>
/// A thread of its own for the Composite passes of distributed steps, run one at a time in order. A silo has one for
/// the UNet passes peers ask of it (<see cref="Grains.DenoiserGrain"/>): a pass holds its thread for milliseconds on a
/// GPU and seconds on a CPU, and on a thread-pool thread it strands the work queued behind it there (Kestrel's
/// processing of the next pass's request) until the pool injects another thread, which measured 0.5–1.7 s. A
/// coordinator has one per peer for its calls to that peer (<see cref="Grains.RemoteAdapterDenoiser"/>): each call
/// leaves at once, the calls to different peers leave in parallel, and the answer wakes the thread blocked on its socket
/// with no hand-over. The thread sleeps on an event with no spin phase, so handing it a pass costs a plain wake-up
/// (docs/benchmarks.md, sessions 5 and 6).
/// </summary>
public sealed class PassThread : IDisposable
{
    private readonly Lock _gate = new();
    private readonly Queue<Action> _work = new();
    private readonly AutoResetEvent _pending = new(false);
    private readonly Thread _thread;
    private bool _disposed;

    /// <summary>Starts the thread, named <paramref name="name"/>.</summary>
    public PassThread(string name)
    {
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>Runs <paramref name="pass"/> on the thread; the task ends with its result or its exception.</summary>
    /// <exception cref="ObjectDisposedException">The thread has been disposed (the silo or the job is ending).</exception>
    public Task<T> RunAsync<T>(Func<T> pass)
    {
        ArgumentNullException.ThrowIfNull(pass);
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _work.Enqueue(() =>
            {
                try
                {
                    done.SetResult(pass());
                }
                catch (Exception e)
                {
                    done.SetException(e);
                }
            });
            // Under the lock: once Dispose has seen this pass queued and disposed the event, nothing signals it.
            _pending.Set();
        }

        return done.Task;
    }

    private void Run()
    {
        while (true)
        {
            _pending.WaitOne();
            while (true)
            {
                Action? next;
                bool disposed;
                lock (_gate)
                {
                    disposed = _disposed;
                    _work.TryDequeue(out next);
                }

                if (next is not null)
                {
                    next();
                }
                else if (disposed)
                {
                    return;
                }
                else
                {
                    break;
                }
            }
        }
    }

    /// <summary>Lets the passes already handed over finish (the model or connection must outlive them), then ends the thread.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
        }

        _pending.Set();
        _thread.Join();
        _pending.Dispose();
    }
}
