namespace LoraGrains.Cluster.Runtime;

/// <summary>Why a running job was stopped before it finished.</summary>
public enum JobStopReason
{
    /// <summary>Not stopped.</summary>
    None,

    /// <summary>Its tenant asked to cancel it.</summary>
    Cancelled,

    /// <summary>The silo is draining: release the job (its checkpoint stays) for another silo.</summary>
    Draining,

    /// <summary>The lease was lost: another silo owns the job; change nothing.</summary>
    LeaseLost,
}
