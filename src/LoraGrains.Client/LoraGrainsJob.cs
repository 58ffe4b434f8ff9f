namespace LoraGrains.Client;

/// <summary>A submitted job: watch it, wait for it, fetch its image, cancel it.</summary>
public sealed class LoraGrainsJob
{
    private readonly LoraGrainsClient _client;

    internal LoraGrainsJob(LoraGrainsClient client, Guid id)
    {
        _client = client;
        Id = id;
    }

    /// <summary>The job's id.</summary>
    public Guid Id { get; }

    /// <summary>Progress events until the job reaches a final state (reconnects if the stream drops).</summary>
    public IAsyncEnumerable<JobProgress> WatchAsync(CancellationToken cancellationToken = default) => _client.WatchJobAsync(Id, cancellationToken);

    /// <summary>The job's current record.</summary>
    public Task<JobInfo> GetAsync(CancellationToken cancellationToken = default) => _client.GetJobAsync(Id, cancellationToken);

    /// <summary>Waits for a final state by watching the event stream, then returns the job's record.</summary>
    public async Task<JobInfo> WaitAsync(CancellationToken cancellationToken = default)
    {
        await foreach (var progress in WatchAsync(cancellationToken).ConfigureAwait(false))
        {
            if (progress.IsFinal)
            {
                break;
            }
        }

        return await GetAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The PNG of a succeeded job (the first of its batch).</summary>
    public Task<byte[]> GetImageAsync(CancellationToken cancellationToken = default) => _client.GetImageAsync(Id, cancellationToken);

    /// <summary>The PNG at <paramref name="index"/> (0-based) of a succeeded job's batch.</summary>
    public Task<byte[]> GetImageAsync(int index, CancellationToken cancellationToken = default) => _client.GetImageAsync(Id, index, cancellationToken);

    /// <summary>Asks the cluster to cancel the job (a running job stops between steps).</summary>
    public Task CancelAsync(CancellationToken cancellationToken = default) => _client.CancelJobAsync(Id, cancellationToken);
}
