namespace LoraGrains.Cluster.Queue;

/// <summary>The text stored in <c>jobs.status</c> for each <see cref="JobStatus"/> (a CHECK constraint lists the same words).</summary>
internal static class JobStatusColumn
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";

    public static JobStatus Parse(string value) => value switch
    {
        Queued => JobStatus.Queued,
        Running => JobStatus.Running,
        Succeeded => JobStatus.Succeeded,
        Failed => JobStatus.Failed,
        Cancelled => JobStatus.Cancelled,
        _ => throw new InvalidOperationException($"Unknown job status '{value}' in the database."),
    };
}
