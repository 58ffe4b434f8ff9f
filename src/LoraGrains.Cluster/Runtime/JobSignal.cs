namespace LoraGrains.Cluster.Runtime;

/// <summary>
/// Wakes this silo's idle job worker when a job may be claimable: (SQLite) this silo accepted one, or (PostgreSQL) the
/// <see cref="JobNotificationListener"/> heard that one was submitted, re-queued or released anywhere in the cluster,
/// this silo included.
/// A wake-up while the worker is busy is kept (one is enough), so its next idle wait ends at once.
/// </summary>
public sealed class JobSignal : IDisposable
{
    private readonly SemaphoreSlim _signal = new(0, 1);

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

    /// <summary>Waits for a notification or the timeout; returns quietly when cancelled.</summary>
    public async Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            await _signal.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <inheritdoc />
    public void Dispose() => _signal.Dispose();
}
