namespace LoraGrains.Cluster.Runtime;

/// <summary>
/// Base of a grain: a virtual actor identified by a string key, activated on first call and deactivated when idle.
/// Its methods run one turn at a time (the runtime's mailbox), so a grain needs no locks of its own; all durable
/// state lives in the database, so a duplicate activation elsewhere is harmless.
/// </summary>
public abstract class Grain
{
    /// <summary>The grain's key.</summary>
    public string Key { get; internal set; } = string.Empty;

    /// <summary>Runs once before the first turn.</summary>
    public virtual Task OnActivateAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Runs once after the last turn, when the activation is collected.</summary>
    public virtual Task OnDeactivateAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
