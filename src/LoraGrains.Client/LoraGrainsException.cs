using System.Net;

namespace LoraGrains.Client;

/// <summary>The cluster refused or failed a request.</summary>
public sealed class LoraGrainsException : Exception
{
    /// <summary>Creates the exception.</summary>
    public LoraGrainsException(HttpStatusCode statusCode, string message, string? field = null)
        : base($"{(int)statusCode} {statusCode}: {message}")
    {
        StatusCode = statusCode;
        Field = field;
        Detail = message;
    }

    /// <summary>The HTTP status of the answer.</summary>
    public HttpStatusCode StatusCode { get; }

    /// <summary>The request field the server blamed, if any.</summary>
    public string? Field { get; }

    /// <summary>The server's message.</summary>
    public string Detail { get; }
}
