using System.Buffers;
using System.Text.Json;
using LoraGrains.Client;
using Microsoft.AspNetCore.Http;

namespace LoraGrains.Cluster.Http;

/// <summary>Reads a JSON request body within a size limit, with errors that say what is wrong.</summary>
public static class RequestBody
{
    /// <summary>Most bytes past a limit that are still read (and dropped), so that a client which sent its whole body gets the 413.</summary>
    public const long DrainLimit = 4 << 20;

    /// <summary>Reads and drops up to <see cref="DrainLimit"/> bytes of a refused body.</summary>
    public static async Task DrainAsync(Stream body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(body);
        var buffer = new byte[1 << 16];
        long drained = 0;
        try
        {
            int read;
            while (drained < DrainLimit && (read = await body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                drained += read;
            }
        }
        catch (Exception e) when (e is IOException or BadHttpRequestException)
        {
        }
    }

    /// <summary>Deserializes the body as <typeparamref name="T"/>; 413 past <paramref name="limit"/> bytes, 400 for anything malformed.</summary>
    public static async Task<T> ReadJsonAsync<T>(HttpRequest request, int limit, CancellationToken cancellationToken)
        where T : class
    {
        var body = await ReadAsync(request, limit, "application/json", cancellationToken).ConfigureAwait(false);
        if (body.Count == 0)
        {
            throw new HttpApiException(400, "a JSON body is required", "body");
        }

        return JsonSerializer.Deserialize<T>(body.AsSpan(), LoraGrainsJson.Options)
            ?? throw new HttpApiException(400, "the JSON body must be an object, not null", "body");
    }

    // The whole body, of media type `contentType`; 413 past `limit` bytes, 415 for another type.
    private static async Task<ArraySegment<byte>> ReadAsync(HttpRequest request, int limit, string contentType, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(contentType);
        if (request.ContentLength > limit)
        {
            if (request.ContentLength <= limit + DrainLimit)
            {
                await DrainAsync(request.Body, cancellationToken).ConfigureAwait(false);
            }

            throw new HttpApiException(413, $"the request body is {request.ContentLength} bytes; the limit is {limit} bytes");
        }

        if (request.ContentType is { } type && !type.StartsWith(contentType, StringComparison.OrdinalIgnoreCase))
        {
            throw new HttpApiException(415, $"expected Content-Type {contentType}, got '{type}'");
        }

        // Straight from Kestrel's buffers into one array (sized by Content-Length when there is one), taking whatever has
        // arrived at each read: one copy and few wake-ups.
        var reader = request.BodyReader;
        var body = new byte[request.ContentLength is long length && length > 0 ? length : 0];
        var filled = 0;
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (filled + buffer.Length > limit)
            {
                reader.AdvanceTo(buffer.End);
                await DrainAsync(request.Body, cancellationToken).ConfigureAwait(false);
                throw new HttpApiException(413, $"the request body exceeds the limit of {limit} bytes");
            }

            if (filled + buffer.Length > body.Length)
            {
                Array.Resize(ref body, (int)Math.Min(limit, Math.Max(filled + buffer.Length, 2L * body.Length)));
            }

            buffer.CopyTo(body.AsSpan(filled));
            filled += (int)buffer.Length;
            reader.AdvanceTo(buffer.End);
            if (result.IsCompleted)
            {
                return new ArraySegment<byte>(body, 0, filled);
            }
        }
    }
}
