namespace LoraGrains.Cluster.Queue;

/// <summary>Where a job is in its life. Queued and running are the only states a job leaves.</summary>
public enum JobStatus
{
    /// <summary>Written to the database, waiting for a silo to claim it.</summary>
    Queued,

    /// <summary>Claimed: a silo holds its lease.</summary>
    Running,

    /// <summary>Finished with a result image.</summary>
    Succeeded,

    /// <summary>Gave up: an error, or its lease expired too many times.</summary>
    Failed,

    /// <summary>Cancelled by its tenant.</summary>
    Cancelled,
}
