using System.Globalization;
using LoraGrains.Client;
using LoraGrains.Cluster.Grains;
using LoraGrains.Cluster.Runtime;
using LoraGrains.Cluster.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace LoraGrains.Cluster.Http;

/// <summary>
/// <c>/v1/sessions</c>: create, read, and version-checked update (ETag / If-Match; 409 on a stale version); requests for
/// an existing session are served on its owner silo (<see cref="SessionForwarding"/>).
/// </summary>
public static class SessionEndpoints
{
    /// <summary>Maps the endpoints on the tenant group.</summary>
    public static void Map(RouteGroupBuilder api)
    {
        ArgumentNullException.ThrowIfNull(api);
        api.MapPost("/sessions", CreateAsync).Accepts<CreateSessionRequest>("application/json").Produces<SessionInfo>(201);
        // An existing session is served by its owner silo (a new one by the silo that creates it).
        var session = api.MapGroup("/sessions/{id}").AddEndpointFilter<SessionForwarding>();
        session.MapGet("", GetAsync).Produces<SessionInfo>();
        session.MapGet("/jobs", HistoryAsync).Produces<IReadOnlyList<JobInfo>>();
        session.MapPut("", UpdateAsync).Accepts<UpdateSessionRequest>("application/json").Produces<SessionInfo>().Produces<ApiError>(409);
    }

    private static async Task<IResult> CreateAsync(HttpContext http, GrainRuntime grains, IOptions<SiloOptions> options)
    {
        var body = await RequestBody.ReadJsonAsync<CreateSessionRequest>(http.Request, options.Value.MaxJsonBodyBytes, http.RequestAborted);
        var id = body.Id ?? $"s-{Guid.NewGuid():N}";
        StorageKeys.Id(id, "id");
        var tenant = TenantAuthentication.TenantOf(http);
        var record = await grains.CallAsync<SessionGrain, SessionRecord>(SessionGrain.KeyOf(tenant, id),
            g => g.CreateAsync(body.Settings, body.Adapters, http.RequestAborted), http.RequestAborted);
        SetETag(http, record);
        return Results.Json(SessionGrain.ToInfo(record), LoraGrainsJson.Options, statusCode: 201);
    }

    private static async Task<IResult> GetAsync(string id, HttpContext http, GrainRuntime grains)
    {
        StorageKeys.Id(id, "id");
        var tenant = TenantAuthentication.TenantOf(http);
        var record = await grains.CallAsync<SessionGrain, SessionRecord?>(SessionGrain.KeyOf(tenant, id), g => g.GetAsync(http.RequestAborted), http.RequestAborted)
            ?? throw new HttpApiException(404, $"session '{id}' not found");
        SetETag(http, record);
        return Results.Json(SessionGrain.ToInfo(record), LoraGrainsJson.Options);
    }

    private static async Task<IResult> UpdateAsync(string id, HttpContext http, GrainRuntime grains, IOptions<SiloOptions> options)
    {
        StorageKeys.Id(id, "id");
        var body = await RequestBody.ReadJsonAsync<UpdateSessionRequest>(http.Request, options.Value.MaxJsonBodyBytes, http.RequestAborted);
        var version = body.Version ?? ParseIfMatch(http)
            ?? throw new HttpApiException(428, "the version to update is required: send it as 'version' in the body or as If-Match", "version");
        var tenant = TenantAuthentication.TenantOf(http);
        SessionRecord record;
        try
        {
            record = await grains.CallAsync<SessionGrain, SessionRecord>(SessionGrain.KeyOf(tenant, id),
                g => g.UpdateAsync(version, body.Settings, body.Adapters, http.RequestAborted), http.RequestAborted);
        }
        catch (KeyNotFoundException)
        {
            throw new HttpApiException(404, $"session '{id}' not found");
        }

        SetETag(http, record);
        return Results.Json(SessionGrain.ToInfo(record), LoraGrainsJson.Options);
    }

    private static async Task<IResult> HistoryAsync(string id, HttpContext http, GrainRuntime grains, int? limit = null)
    {
        StorageKeys.Id(id, "id");
        var tenant = TenantAuthentication.TenantOf(http);
        try
        {
            var jobs = await grains.CallAsync<SessionGrain, IReadOnlyList<Queue.JobRecord>>(SessionGrain.KeyOf(tenant, id),
                g => g.HistoryAsync(limit ?? 100, http.RequestAborted), http.RequestAborted);
            return Results.Json(jobs.Select(JobEndpoints.ToInfo).ToList(), LoraGrainsJson.Options);
        }
        catch (KeyNotFoundException)
        {
            throw new HttpApiException(404, $"session '{id}' not found");
        }
    }

    private static long? ParseIfMatch(HttpContext http)
    {
        var value = http.Request.Headers.IfMatch.ToString().Trim().Replace("W/", string.Empty, StringComparison.Ordinal).Trim('"');
        if (value.Length == 0)
        {
            return null;
        }

        return long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw new HttpApiException(400, $"If-Match must be a session version such as \"3\", got '{value}'", "If-Match");
    }

    private static void SetETag(HttpContext http, SessionRecord record) =>
        http.Response.Headers.ETag = $"\"{record.Version.ToString(CultureInfo.InvariantCulture)}\"";
}
