namespace LoraGrains.Cluster.Membership;

/// <summary>A silo's declared state; whether it is alive is decided by its heartbeat's age, not by this.</summary>
public enum SiloStatus
{
    /// <summary>Serving: claims jobs and hosts activations.</summary>
    Active,

    /// <summary>Shutting down: claims nothing new, finishes or checkpoints what it runs, then leaves.</summary>
    Draining,

    /// <summary>Gone after a drain.</summary>
    Left,
}
