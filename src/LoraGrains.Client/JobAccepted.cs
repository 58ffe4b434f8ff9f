namespace LoraGrains.Client;

/// <summary>Answer of <c>POST /v1/jobs</c> (202): the job is durably queued.</summary>
/// <param name="JobId">The job's id.</param>
public sealed record JobAccepted(Guid JobId);
