namespace LoraGrains.Client;

/// <summary>One Server-Sent Event of <c>GET /v1/jobs/{id}/events</c>.</summary>
/// <param name="JobId">The job.</param>
/// <param name="Status">queued | running | succeeded | failed | cancelled.</param>
/// <param name="Step">Steps completed (as far as the watching silo knows).</param>
/// <param name="TotalSteps">Steps of the run.</param>
/// <param name="Silo">The silo running it.</param>
/// <param name="Error">Why it failed or was cancelled.</param>
public sealed record JobProgress(Guid JobId, string Status, int Step, int TotalSteps, string? Silo = null, string? Error = null)
{
    /// <summary>Whether this is the last event of the stream.</summary>
    public bool IsFinal => Status is "succeeded" or "failed" or "cancelled";
}
