using System.Collections.Concurrent;
using LoraGrains.Client;

namespace LoraGrains.Cluster.Runtime;

/// <summary>The latest progress of the jobs running on this silo, for progress streams (in memory; the database has the rest).</summary>
public sealed class JobProgressBoard
{
    private readonly ConcurrentDictionary<Guid, JobProgress> _progress = new();

    /// <summary>Records a job's progress.</summary>
    public void Report(JobProgress progress)
    {
        ArgumentNullException.ThrowIfNull(progress);
        _progress[progress.JobId] = progress;
    }

    /// <summary>The job's latest progress on this silo, if it runs here.</summary>
    public JobProgress? Get(Guid jobId) => _progress.TryGetValue(jobId, out var p) ? p : null;

    /// <summary>Forgets a job that left this silo.</summary>
    public void Remove(Guid jobId) => _progress.TryRemove(jobId, out _);
}
