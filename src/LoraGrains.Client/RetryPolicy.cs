using System.Net;
using System.Net.Sockets;

namespace LoraGrains.Client;

/// <summary>
/// Retries with exponential backoff and jitter. Idempotent calls are retried on transient failures (a 5xx
/// answer, a dropped or refused connection); non-idempotent calls only when the connection was refused, that
/// is when the request cannot have reached the server.
/// </summary>
public sealed record RetryPolicy
{
    /// <summary>No retries.</summary>
    public static RetryPolicy None { get; } = new() { MaxAttempts = 1 };

    /// <summary>Attempts in all, the first included (default 5).</summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>Delay before the first retry; doubled for each next one (default 200 ms).</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Longest delay between attempts (default 5 s).</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Whether an answer with this status is worth another try of an idempotent call.</summary>
    public static bool IsTransient(HttpStatusCode status) =>
        status is HttpStatusCode.InternalServerError or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout;

    /// <summary>Whether the exception says the request never reached the server.</summary>
    public static bool IsConnectionRefused(Exception exception) =>
        exception is HttpRequestException { InnerException: SocketException { SocketErrorCode: SocketError.ConnectionRefused } }
            or HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError };

    /// <summary>The delay before retry number <paramref name="retry"/> (1-based).</summary>
    public TimeSpan DelayBefore(int retry)
    {
        var exponential = BaseDelay.TotalMilliseconds * Math.Pow(2, retry - 1);
        var jitter = 0.5 + (Random.Shared.NextDouble() * 0.5);
        return TimeSpan.FromMilliseconds(Math.Min(MaxDelay.TotalMilliseconds, exponential) * jitter);
    }
}
