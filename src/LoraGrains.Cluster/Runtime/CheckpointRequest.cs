namespace LoraGrains.Cluster.Runtime;

/// <summary>
/// A draining silo's request to a running job: take a checkpoint at the next step boundary, then stop. The worker
/// raises it; the job's checkpoint recorder answers it once the checkpoint is saved under the lease.
/// </summary>
public sealed class CheckpointRequest
{
    private volatile bool _requested;
    private Action? _onSaved;

    /// <summary>Whether a checkpoint has been asked for and not yet saved.</summary>
    public bool IsRequested => _requested;

    /// <summary>Asks for a checkpoint; <paramref name="onSaved"/> runs once it is saved.</summary>
    public void Request(Action onSaved)
    {
        _onSaved = onSaved;
        _requested = true;
    }

    /// <summary>Called by the recorder after saving a checkpoint: answers a pending request.</summary>
    public void Saved()
    {
        if (!_requested)
        {
            return;
        }

        _requested = false;
        Interlocked.Exchange(ref _onSaved, null)?.Invoke();
    }
}
