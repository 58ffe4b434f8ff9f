namespace LoraGrains.Cluster.Http;

/// <summary>A refusal with an HTTP status and a message for the client (rendered as <see cref="Client.ApiError"/>).</summary>
public sealed class HttpApiException(int statusCode, string message, string? field = null) : Exception(message)
{
    /// <summary>The HTTP status.</summary>
    public int StatusCode { get; } = statusCode;

    /// <summary>The request field to blame, if any.</summary>
    public string? Field { get; } = field;
}
