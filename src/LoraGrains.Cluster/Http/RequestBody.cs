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
        using var buffer = await ReadAsync(request, limit, "application/json", cancellationToken).ConfigureAwait(false);
        if (buffer.Length == 0)
        {
            throw new HttpApiException(400, "a JSON body is required", "body");
        }

        return await JsonSerializer.DeserializeAsync<T>(buffer, LoraGrainsJson.Options, cancellationToken).ConfigureAwait(false)
            ?? throw new HttpApiException(400, "the JSON body must be an object, not null", "body");
    }

    /// <summary>The whole body, of media type <paramref name="contentType"/>; 413 past <paramref name="limit"/> bytes, 415 for another type.</summary>
    public static async Task<MemoryStream> ReadAsync(HttpRequest request, int limit, string contentType, CancellationToken cancellationToken)
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

        var buffer = new MemoryStream(request.ContentLength is long length && length > 0 && length <= limit ? (int)length : 0);
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                await DrainAsync(request.Body, cancellationToken).ConfigureAwait(false);
                throw new HttpApiException(413, $"the request body exceeds the limit of {limit} bytes");
            }

            buffer.Write(chunk, 0, read);
        }

        buffer.Position = 0;
        return buffer;
    }
}
