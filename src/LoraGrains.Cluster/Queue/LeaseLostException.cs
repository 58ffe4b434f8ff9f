namespace LoraGrains.Cluster.Queue;

/// <summary>
/// The caller no longer holds the job's lease (it expired and the job was re-queued or claimed by another
/// silo, or the job already finished). Nothing was written: stop working on the job and drop its result.
/// </summary>
public sealed class LeaseLostException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="jobId">The job.</param>
    /// <param name="owner">The silo that thought it held the lease.</param>
    /// <param name="detail">What the job's row says now.</param>
    public LeaseLostException(Guid jobId, string owner, string detail)
        : base($"Silo '{owner}' no longer holds the lease on job {jobId}: {detail}.")
    {
        JobId = jobId;
        Owner = owner;
    }

    /// <summary>The job.</summary>
    public Guid JobId { get; }

    /// <summary>The silo that thought it held the lease.</summary>
    public string Owner { get; }
}
