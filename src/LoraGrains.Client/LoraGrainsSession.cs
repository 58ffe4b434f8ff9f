namespace LoraGrains.Client;

/// <summary>A tenant's session: its settings and adapter set fill the absent fields of the jobs submitted through it.</summary>
public sealed class LoraGrainsSession
{
    private readonly LoraGrainsClient _client;

    internal LoraGrainsSession(LoraGrainsClient client, SessionInfo info)
    {
        _client = client;
        Info = info;
    }

    /// <summary>The session's id.</summary>
    public string Id => Info.Id;

    /// <summary>The session's state as last read or written through this object.</summary>
    public SessionInfo Info { get; private set; }

    /// <summary>Uploads a local adapter file (idempotent: the adapter is identified by its content hash).</summary>
    public Task<AdapterInfo> RegisterAdapterAsync(string filePath, string? name = null, CancellationToken cancellationToken = default) =>
        _client.RegisterAdapterAsync(filePath, name, cancellationToken);

    /// <summary>Submits a job in this session; returns once the job is durably queued.</summary>
    public Task<LoraGrainsJob> GenerateAsync(JobRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return _client.SubmitAsync(request with { SessionId = Id }, cancellationToken);
    }

    /// <summary>Writes new settings/adapters if nobody changed the session since <see cref="Info"/> was read.</summary>
    /// <exception cref="LoraGrainsException">409 when the session changed meanwhile.</exception>
    public async Task<SessionInfo> UpdateAsync(UpdateSessionRequest update, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(update);
        Info = await _client.UpdateSessionAsync(Id, update with { Version = update.Version ?? Info.Version }, cancellationToken).ConfigureAwait(false);
        return Info;
    }

    /// <summary>The session's most recent jobs, newest first.</summary>
    public Task<IReadOnlyList<JobInfo>> GetHistoryAsync(int limit = 100, CancellationToken cancellationToken = default) =>
        _client.GetSessionHistoryAsync(Id, limit, cancellationToken);

    /// <summary>Re-reads the session.</summary>
    public async Task<SessionInfo> RefreshAsync(CancellationToken cancellationToken = default)
    {
        Info = await _client.GetSessionAsync(Id, cancellationToken).ConfigureAwait(false);
        return Info;
    }
}
