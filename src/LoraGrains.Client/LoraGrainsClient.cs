using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LoraGrains.Client;

/// <summary>
/// Typed client of a LoraGrains cluster's HTTP API (any silo is a gateway). Thread-safe; one per process and key.
/// </summary>
public sealed class LoraGrainsClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly string? _apiKey;

    /// <summary>Creates a client for the silo at <paramref name="baseAddress"/> with a tenant API key (<c>lg_…</c>).</summary>
    public LoraGrainsClient(Uri baseAddress, string apiKey)
        : this(new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2) }) { BaseAddress = baseAddress, Timeout = Timeout.InfiniteTimeSpan }, apiKey)
    {
        _ownsHttp = true;
    }

    /// <summary>Creates a client over an existing <see cref="HttpClient"/> (its <see cref="HttpClient.BaseAddress"/> must be set).</summary>
    /// <param name="http">The transport.</param>
    /// <param name="apiKey">Tenant API key; when <see langword="null"/> the HttpClient's own Authorization header is used.</param>
    public LoraGrainsClient(HttpClient http, string? apiKey = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (http.BaseAddress is null)
        {
            throw new ArgumentException("the HttpClient needs a BaseAddress", nameof(http));
        }

        _http = http;
        _apiKey = apiKey;
    }

    /// <summary>How failed calls are retried.</summary>
    public RetryPolicy Retry { get; init; } = new();

    /// <summary>Where this client sends requests.</summary>
    public Uri BaseAddress => _http.BaseAddress!;

    /// <summary>Opens the session <paramref name="sessionId"/>, creating it when it does not exist (or a new one when no id is given).</summary>
    public async Task<LoraGrainsSession> OpenSessionAsync(string? sessionId = null, JsonObject? settings = null, CancellationToken cancellationToken = default)
    {
        if (sessionId is not null)
        {
            try
            {
                return new LoraGrainsSession(this, await GetSessionAsync(sessionId, cancellationToken).ConfigureAwait(false));
            }
            catch (LoraGrainsException e) when (e.StatusCode == HttpStatusCode.NotFound)
            {
            }
        }

        var info = await CreateSessionAsync(new CreateSessionRequest(sessionId, settings), cancellationToken).ConfigureAwait(false);
        return new LoraGrainsSession(this, info);
    }

    /// <summary>Creates a session.</summary>
    public Task<SessionInfo> CreateSessionAsync(CreateSessionRequest request, CancellationToken cancellationToken = default) =>
        SendJsonAsync<SessionInfo>(HttpMethod.Post, "v1/sessions", request, idempotent: false, cancellationToken);

    /// <summary>Reads a session.</summary>
    public Task<SessionInfo> GetSessionAsync(string sessionId, CancellationToken cancellationToken = default) =>
        SendJsonAsync<SessionInfo>(HttpMethod.Get, $"v1/sessions/{Uri.EscapeDataString(sessionId)}", null, idempotent: true, cancellationToken);

    /// <summary>Writes a session if it is still at <see cref="UpdateSessionRequest.Version"/>; 409 otherwise.</summary>
    public Task<SessionInfo> UpdateSessionAsync(string sessionId, UpdateSessionRequest request, CancellationToken cancellationToken = default) =>
        SendJsonAsync<SessionInfo>(HttpMethod.Put, $"v1/sessions/{Uri.EscapeDataString(sessionId)}", request, idempotent: true, cancellationToken);

    /// <summary>A session's history: its most recent jobs, newest first.</summary>
    public Task<IReadOnlyList<JobInfo>> GetSessionHistoryAsync(string sessionId, int limit = 100, CancellationToken cancellationToken = default) =>
        SendJsonAsync<IReadOnlyList<JobInfo>>(HttpMethod.Get, $"v1/sessions/{Uri.EscapeDataString(sessionId)}/jobs?limit={limit}", null, idempotent: true, cancellationToken);

    /// <summary>Uploads an adapter file from this machine (content-addressed, so safe to retry).</summary>
    public Task<AdapterInfo> RegisterAdapterAsync(string filePath, string? name = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filePath);
        var query = $"v1/adapters?name={Uri.EscapeDataString(name ?? Path.GetFileNameWithoutExtension(filePath))}";
        return SendAsync<AdapterInfo>(() =>
        {
            var content = new StreamContent(File.OpenRead(filePath));
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            // 100-continue: a refused upload (413, 401) is answered before the file is sent.
            var message = new HttpRequestMessage(HttpMethod.Post, query) { Content = content };
            message.Headers.ExpectContinue = true;
            return message;
        }, idempotent: true, cancellationToken);
    }

    /// <summary>Uploads adapter bytes (content-addressed, so safe to retry).</summary>
    public Task<AdapterInfo> UploadAdapterAsync(ReadOnlyMemory<byte> bytes, string name, CancellationToken cancellationToken = default) =>
        SendAsync<AdapterInfo>(() =>
        {
            var content = new ReadOnlyMemoryContent(bytes);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            var message = new HttpRequestMessage(HttpMethod.Post, $"v1/adapters?name={Uri.EscapeDataString(name)}") { Content = content };
            message.Headers.ExpectContinue = true;
            return message;
        }, idempotent: true, cancellationToken);

    /// <summary>Registers an adapter file already on the silos' storage, under an allow-listed root.</summary>
    public Task<AdapterInfo> RegisterAdapterPathAsync(RegisterAdapterPathRequest request, CancellationToken cancellationToken = default) =>
        SendJsonAsync<AdapterInfo>(HttpMethod.Post, "v1/adapters/register", request, idempotent: true, cancellationToken);

    /// <summary>The tenant's adapters.</summary>
    public Task<IReadOnlyList<AdapterInfo>> ListAdaptersAsync(CancellationToken cancellationToken = default) =>
        SendJsonAsync<IReadOnlyList<AdapterInfo>>(HttpMethod.Get, "v1/adapters", null, idempotent: true, cancellationToken);

    /// <summary>One of the tenant's adapters.</summary>
    public Task<AdapterInfo> GetAdapterAsync(string hash, CancellationToken cancellationToken = default) =>
        SendJsonAsync<AdapterInfo>(HttpMethod.Get, $"v1/adapters/{Uri.EscapeDataString(hash)}", null, idempotent: true, cancellationToken);

    /// <summary>Removes one of the tenant's adapters.</summary>
    public Task DeleteAdapterAsync(string hash, CancellationToken cancellationToken = default) =>
        SendAsync<JsonElement?>(() => new HttpRequestMessage(HttpMethod.Delete, $"v1/adapters/{Uri.EscapeDataString(hash)}"), idempotent: true, cancellationToken);

    /// <summary>Submits a job; returns once the job is durably queued (202).</summary>
    public async Task<LoraGrainsJob> SubmitAsync(JobRequest request, CancellationToken cancellationToken = default)
    {
        var accepted = await SendJsonAsync<JobAccepted>(HttpMethod.Post, "v1/jobs", request, idempotent: false, cancellationToken).ConfigureAwait(false);
        return new LoraGrainsJob(this, accepted.JobId);
    }

    /// <summary>Same as <see cref="SubmitAsync"/>: generate an image.</summary>
    public Task<LoraGrainsJob> GenerateAsync(JobRequest request, CancellationToken cancellationToken = default) => SubmitAsync(request, cancellationToken);

    /// <summary>A handle on an existing job.</summary>
    public LoraGrainsJob Job(Guid jobId) => new(this, jobId);

    /// <summary>Reads a job.</summary>
    public Task<JobInfo> GetJobAsync(Guid jobId, CancellationToken cancellationToken = default) =>
        SendJsonAsync<JobInfo>(HttpMethod.Get, $"v1/jobs/{jobId}", null, idempotent: true, cancellationToken);

    /// <summary>Asks for a job to be cancelled.</summary>
    public Task CancelJobAsync(Guid jobId, CancellationToken cancellationToken = default) =>
        SendAsync<JsonElement?>(() => new HttpRequestMessage(HttpMethod.Post, $"v1/jobs/{jobId}/cancel"), idempotent: true, cancellationToken);

    /// <summary>The PNG of a succeeded job (the first of its batch).</summary>
    public Task<byte[]> GetImageAsync(Guid jobId, CancellationToken cancellationToken = default) => GetImageAsync(jobId, 0, cancellationToken);

    /// <summary>The PNG at <paramref name="index"/> (0-based) of a succeeded job's batch.</summary>
    public async Task<byte[]> GetImageAsync(Guid jobId, int index, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        var query = index == 0 ? string.Empty : $"?index={index}";
        using var response = await SendRawAsync(() => new HttpRequestMessage(HttpMethod.Get, $"v1/jobs/{jobId}/image{query}"), idempotent: true, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Progress events of a job (Server-Sent Events) until it reaches a final state; reconnects when the stream drops.</summary>
    public async IAsyncEnumerable<JobProgress> WatchJobAsync(Guid jobId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var drops = 0;
        while (true)
        {
            using var response = await SendRawAsync(() =>
            {
                var message = new HttpRequestMessage(HttpMethod.Get, $"v1/jobs/{jobId}/events");
                message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
                return message;
            }, idempotent: true, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            var events = ServerSentEventReader.ReadAsync(stream, cancellationToken).GetAsyncEnumerator(cancellationToken);
            try
            {
                while (true)
                {
                    bool more;
                    try
                    {
                        more = await events.MoveNextAsync().ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is IOException or HttpRequestException && !cancellationToken.IsCancellationRequested)
                    {
                        more = false;
                    }

                    if (!more)
                    {
                        break;
                    }

                    var progress = JsonSerializer.Deserialize<JobProgress>(events.Current.Data, LoraGrainsJson.Options)
                        ?? throw new LoraGrainsException(HttpStatusCode.BadGateway, "an empty progress event");
                    yield return progress;
                    if (progress.IsFinal)
                    {
                        yield break;
                    }
                }
            }
            finally
            {
                await events.DisposeAsync().ConfigureAwait(false);
            }

            if (++drops >= Retry.MaxAttempts * 4)
            {
                throw new LoraGrainsException(HttpStatusCode.ServiceUnavailable, $"the progress stream of job {jobId} kept dropping");
            }

            await Task.Delay(Retry.DelayBefore(Math.Min(drops, 4)), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    private Task<T> SendJsonAsync<T>(HttpMethod method, string path, object? body, bool idempotent, CancellationToken cancellationToken) =>
        SendAsync<T>(() => new HttpRequestMessage(method, path)
        {
            Content = body is null ? null : JsonContent.Create(body, body.GetType(), options: LoraGrainsJson.Options),
        }, idempotent, cancellationToken);

    private async Task<T> SendAsync<T>(Func<HttpRequestMessage> request, bool idempotent, CancellationToken cancellationToken)
    {
        using var response = await SendRawAsync(request, idempotent, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NoContent || response.Content.Headers.ContentLength == 0)
        {
            return default!;
        }

        return (await response.Content.ReadFromJsonAsync<T>(LoraGrainsJson.Options, cancellationToken).ConfigureAwait(false))!;
    }

    private async Task<HttpResponseMessage> SendRawAsync(Func<HttpRequestMessage> request, bool idempotent, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var message = request();
            if (_apiKey is not null)
            {
                message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _apiKey);
            }

            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(message, completion, cancellationToken).ConfigureAwait(false);
            }
            catch (HttpRequestException e) when (attempt < Retry.MaxAttempts && (idempotent || RetryPolicy.IsConnectionRefused(e)))
            {
                await Task.Delay(Retry.DelayBefore(attempt), cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (response.IsSuccessStatusCode)
            {
                return response;
            }

            if (idempotent && RetryPolicy.IsTransient(response.StatusCode) && attempt < Retry.MaxAttempts)
            {
                response.Dispose();
                await Task.Delay(Retry.DelayBefore(attempt), cancellationToken).ConfigureAwait(false);
                continue;
            }

            using (response)
            {
                ApiError? error = null;
                try
                {
                    error = await response.Content.ReadFromJsonAsync<ApiError>(LoraGrainsJson.Options, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException)
                {
                }

                throw new LoraGrainsException(response.StatusCode, error?.Error ?? response.ReasonPhrase ?? "request failed", error?.Field);
            }
        }
    }
}
