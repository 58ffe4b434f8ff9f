using System.Text.Json;
using LoraGrains.Client;
using LoraGrains.Cluster.Queue;
using LoraGrains.Cluster.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace LoraGrains.Cluster.Http;

/// <summary>
/// Turns exceptions into clear JSON answers: bad input 400 (naming the field and the limit), unknown or foreign ids
/// 404 (never a hint that the id exists for someone else), stale versions 409, full quotas 429, oversized bodies 413.
/// </summary>
public sealed class ApiErrorMiddleware(RequestDelegate next, ILogger<ApiErrorMiddleware> logger)
{
    /// <summary>Runs the rest of the pipeline and maps its failures.</summary>
    public async Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (Exception e) when (!context.Response.HasStarted && Map(e) is { } answer)
        {
            if (answer.Status >= 500)
            {
                logger.LogError(e, "{Method} {Path} failed", context.Request.Method, context.Request.Path);
            }

            context.Response.Clear();
            context.Response.StatusCode = answer.Status;
            await context.Response.WriteAsJsonAsync(answer.Error, LoraGrainsJson.Options, context.RequestAborted).ConfigureAwait(false);
        }
    }

    /// <summary>The answer for <paramref name="e"/>; <see langword="null"/> for a cancellation (nobody is waiting for one).</summary>
    internal static (int Status, ApiError Error)? Map(Exception e) => e switch
    {
        HttpApiException h => (h.StatusCode, new ApiError(h.Message, h.Field)),
        ArgumentException a => (400, new ApiError(Clean(a.Message), a.ParamName)),
        JsonException j => (400, new ApiError($"the body is not valid JSON for this request: {j.Message}", j.Path?.TrimStart('$', '.'))),
        KeyNotFoundException => (404, new ApiError("not found")),
        ConcurrencyConflictException c => (409, new ApiError($"version conflict: expected version {c.ExpectedVersion}, the current version is {c.ActualVersion}; re-read and retry", "version")),
        AlreadyExistsException x => (409, new ApiError($"{x.Entity} already exists", "id")),
        QuotaExceededException q => (429, new ApiError($"quota {q.Quota} ({q.Limit}) reached; retry later", null)),
        BadHttpRequestException b => (b.StatusCode, new ApiError(b.StatusCode == 413 ? "the request body is too large" : b.Message)),
        OperationCanceledException => null,
        _ => (500, new ApiError("internal error")),
    };

    private static string Clean(string message) => message.Split(" (Parameter '", 2)[0];
}
