namespace LoraGrains.Cluster.Runtime;

/// <summary>One live grain with its mailbox: a one-slot gate that admits one turn at a time, in arrival order.</summary>
internal sealed class GrainActivation(Grain grain, TimeProvider clock) : IDisposable
{
    private readonly SemaphoreSlim _mailbox = new(1, 1);
    private long _lastTurnTicks = clock.GetUtcNow().UtcTicks;
    private int _pending;
    private Task? _activation;

    public Grain Grain { get; } = grain;

    public bool Deactivated { get; private set; }

    public DateTimeOffset LastTurn => new(Interlocked.Read(ref _lastTurnTicks), TimeSpan.Zero);

    public bool IsBusy => Volatile.Read(ref _pending) > 0;

    /// <summary>Runs <paramref name="turn"/> when every earlier turn has finished.</summary>
    public async Task<T> RunTurnAsync<T>(Func<Task<T>> turn, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _pending);
        try
        {
            await _mailbox.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (Deactivated)
                {
                    throw new ObjectDisposedException(Grain.GetType().Name, "the activation was deactivated");
                }

                _activation ??= Grain.OnActivateAsync(cancellationToken);
                try
                {
                    await _activation.ConfigureAwait(false);
                }
                catch
                {
                    // A failed activation is retried by the next turn rather than poisoning the activation.
                    _activation = null;
                    throw;
                }

                return await turn().ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Exchange(ref _lastTurnTicks, clock.GetUtcNow().UtcTicks);
                _mailbox.Release();
            }
        }
        finally
        {
            Interlocked.Decrement(ref _pending);
        }
    }

    /// <summary>Deactivates if no turn is running or waiting; returns whether it did.</summary>
    public async Task<bool> TryDeactivateAsync(CancellationToken cancellationToken)
    {
        if (IsBusy || !await _mailbox.WaitAsync(0, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        try
        {
            if (IsBusy)
            {
                return false;
            }

            Deactivated = true;
            if (_activation is not null)
            {
                await Grain.OnDeactivateAsync(cancellationToken).ConfigureAwait(false);
            }

            return true;
        }
        finally
        {
            _mailbox.Release();
        }
    }

    public void Dispose() => _mailbox.Dispose();
}
