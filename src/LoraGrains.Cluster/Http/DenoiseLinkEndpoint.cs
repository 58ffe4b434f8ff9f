using System.Buffers.Binary;
using System.Diagnostics;
using LoraGrains.Cluster.Grains;
using LoraGrains.Cluster.Runtime;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LoraGrains.Cluster.Http;

/// <summary>
/// The peer's side of a <see cref="DenoiseLink"/>: <c>GET /internal/v1/denoise/link</c> (cluster secret) upgraded to
/// <see cref="DenoiseLink.Protocol"/>, then one <see cref="DenoiserGrain"/> pass per message until the coordinator
/// closes the link or this silo stops. A malformed pass gets its 400 and the link goes on; a message announcing more
/// than <see cref="SiloEndpoints.MaxDenoiseMessageBytes"/> gets a 413 and the link is closed, as its bytes are not read.
/// </summary>
public static class DenoiseLinkEndpoint
{
    /// <summary>Serves one link on the request's connection.</summary>
    /// <exception cref="HttpApiException">426 when the request is not an HTTP/1.1 upgrade to the link's protocol.</exception>
    public static async Task<IResult> ServeAsync(
        HttpContext http, GrainRuntime grains, IOptions<SiloOptions> options, IHostApplicationLifetime lifetime, ILogger<DenoiserGrain> logger)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(grains);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(lifetime);
        ArgumentNullException.ThrowIfNull(logger);
        var upgrade = http.Features.Get<IHttpUpgradeFeature>();
        if (upgrade is not { IsUpgradableRequest: true }
            || !string.Equals(http.Request.Headers.Upgrade.ToString(), DenoiseLink.Protocol, StringComparison.OrdinalIgnoreCase))
        {
            throw new HttpApiException(426, $"the denoise link is an HTTP/1.1 upgrade: send 'Connection: Upgrade' and 'Upgrade: {DenoiseLink.Protocol}'", "Upgrade");
        }

        var siloId = options.Value.SiloId;
        // Kestrel closes the connection when the request ends, so the link lives inside this call.
        await using var stream = await upgrade.UpgradeAsync().ConfigureAwait(false);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, lifetime.ApplicationStopping);
        var prefix = new byte[DenoiseLink.LengthBytes];
        try
        {
            while (true)
            {
                if (await stream.ReadAtLeastAsync(prefix, prefix.Length, throwOnEndOfStream: false, stop.Token).ConfigureAwait(false) < prefix.Length)
                {
                    break;
                }

                var length = BinaryPrimitives.ReadInt32LittleEndian(prefix);
                if (length < 0 || length > SiloEndpoints.MaxDenoiseMessageBytes)
                {
                    await WriteAsync(stream, DenoiseAnswer.Error(413, $"a pass may be at most {SiloEndpoints.MaxDenoiseMessageBytes} bytes; this one announces {length}; closing the link"), stop.Token).ConfigureAwait(false);
                    break;
                }

                var message = new byte[length];
                await stream.ReadExactlyAsync(message, stop.Token).ConfigureAwait(false);
                var started = Stopwatch.GetTimestamp();
                DenoiseAnswer answer;
                try
                {
                    var request = DenoiseRequest.Parse(message);
                    var noise = await grains.CallAsync<DenoiserGrain, byte[]>(siloId, g => g.DenoiseAsync(request, stop.Token), stop.Token).ConfigureAwait(false);
                    answer = new DenoiseAnswer(200, Stopwatch.GetElapsedTime(started).TotalMilliseconds, new ArraySegment<byte>(noise, DenoiserGrain.AnswerOffset, noise.Length - DenoiserGrain.AnswerOffset));
                }
                catch (Exception e) when (ApiErrorMiddleware.Map(e) is { } error)
                {
                    // As the HTTP API answers: 4xx naming the problem, 500 logged; the link goes on either way.
                    if (error.Status >= 500) logger.LogError(e, "A pass on a denoise link failed");
                    answer = DenoiseAnswer.Error(error.Status, error.Error.Error, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }

                await WriteAsync(stream, answer, stop.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // The coordinator went away or this silo is stopping: the coordinator runs what is left locally.
        }

        return Results.Empty;
    }

    // One write, so the coordinator is woken once per answer: the noise's array has room for the prefix and head
    // (DenoiserGrain leaves it); an error's few bytes are copied.
    private static async Task WriteAsync(Stream stream, DenoiseAnswer answer, CancellationToken cancellationToken)
    {
        const int before = DenoiseLink.LengthBytes + DenoiseAnswer.HeadBytes;
        var body = answer.Body;
        var message = body.Offset >= before
            ? new ArraySegment<byte>(body.Array!, body.Offset - before, before + body.Count)
            : new ArraySegment<byte>(new byte[before + body.Count]);
        if (message.Array != body.Array) body.AsSpan().CopyTo(message.AsSpan(before));
        BinaryPrimitives.WriteInt32LittleEndian(message, DenoiseAnswer.HeadBytes + body.Count);
        answer.WriteHead(message.AsSpan(DenoiseLink.LengthBytes));
        await stream.WriteAsync(message, cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
