using System.Security.Cryptography;
using LoraGrains.Client;
using LoraGrains.Cluster.Grains;
using LoraGrains.Cluster.Runtime;
using LoraGrains.Cluster.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace LoraGrains.Cluster.Http;

/// <summary>
/// <c>/v1/adapters</c>: upload (raw body or multipart, size-limited: 413 past the limit), register from a path under
/// an allow-listed root, list, read, delete. Files are stored once per content hash; metadata per tenant.
/// </summary>
public static class AdapterEndpoints
{
    /// <summary>Maps the endpoints on the tenant group.</summary>
    public static void Map(RouteGroupBuilder api)
    {
        ArgumentNullException.ThrowIfNull(api);
        api.MapPost("/adapters", UploadAsync).Accepts<byte[]>("application/octet-stream", "multipart/form-data").Produces<AdapterInfo>(201).Produces<ApiError>(413);
        api.MapPost("/adapters/register", RegisterPathAsync).Accepts<RegisterAdapterPathRequest>("application/json").Produces<AdapterInfo>(201);
        api.MapGet("/adapters", ListAsync).Produces<IReadOnlyList<AdapterInfo>>();
        api.MapGet("/adapters/{hash}", GetAsync).Produces<AdapterInfo>();
        api.MapDelete("/adapters/{hash}", DeleteAsync).Produces(204);
    }

    private static async Task<IResult> UploadAsync(HttpContext http, GrainRuntime grains, SiloFiles files, IOptions<SiloOptions> options)
    {
        var limit = options.Value.MaxAdapterUploadBytes;
        var name = http.Request.Query["name"].ToString();
        if (http.Request.ContentLength > limit)
        {
            // A client that sent the body anyway gets the answer only if the body is read; a modest one is drained.
            if (http.Request.ContentLength <= limit + RequestBody.DrainLimit)
            {
                await RequestBody.DrainAsync(http.Request.Body, http.RequestAborted);
            }

            throw new HttpApiException(413, $"adapter upload of {http.Request.ContentLength} bytes exceeds the limit of {limit} bytes", "body");
        }

        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = limit + RequestBody.DrainLimit;
        }

        var source = http.Request.Body;
        if (MediaTypeHeaderValue.TryParse(http.Request.ContentType, out var type) && type.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
        {
            var boundary = HeaderUtilities.RemoveQuotes(type.Boundary).Value
                ?? throw new HttpApiException(400, "multipart/form-data without a boundary", "body");
            var reader = new MultipartReader(boundary, http.Request.Body);
            MultipartSection? section;
            while ((section = await reader.ReadNextSectionAsync(http.RequestAborted)) is not null)
            {
                if (ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition) && disposition.IsFileDisposition())
                {
                    if (name.Length == 0)
                    {
                        name = Path.GetFileNameWithoutExtension(HeaderUtilities.RemoveQuotes(disposition.FileName).Value ?? string.Empty);
                    }

                    break;
                }
            }

            source = section?.Body ?? throw new HttpApiException(400, "the multipart body has no file part", "body");
        }

        var staged = await StageAsync(source, files, limit, http.RequestAborted);
        return await RegisterStagedAsync(http, grains, staged.Path, staged.Hash, name.Length > 0 ? name : "adapter");
    }

    private static async Task<IResult> RegisterPathAsync(HttpContext http, GrainRuntime grains, SiloFiles files, IOptions<SiloOptions> options)
    {
        var body = await RequestBody.ReadJsonAsync<RegisterAdapterPathRequest>(http.Request, options.Value.MaxJsonBodyBytes, http.RequestAborted);
        if (string.IsNullOrWhiteSpace(body.Path) || !Path.IsPathFullyQualified(body.Path))
        {
            throw new HttpApiException(400, "path must be an absolute file path", "path");
        }

        var full = Path.GetFullPath(body.Path);
        var allowed = options.Value.AdapterRoots
            .Select(r => Path.TrimEndingDirectorySeparator(Path.GetFullPath(r)) + Path.DirectorySeparatorChar)
            .Any(root => full.StartsWith(root, StringComparison.Ordinal));
        // Resolve links too, so a link inside a root cannot point outside it.
        var target = allowed && File.Exists(full) ? new FileInfo(full).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? full : full;
        if (!allowed || !options.Value.AdapterRoots.Any(r => target.StartsWith(Path.TrimEndingDirectorySeparator(Path.GetFullPath(r)) + Path.DirectorySeparatorChar, StringComparison.Ordinal)))
        {
            throw new HttpApiException(400, "path is not under an allow-listed adapter root of this cluster", "path");
        }

        if (!File.Exists(target))
        {
            throw new HttpApiException(400, "path: no such file", "path");
        }

        await using var stream = File.OpenRead(target);
        var staged = await StageAsync(stream, files, options.Value.MaxAdapterUploadBytes, http.RequestAborted);
        return await RegisterStagedAsync(http, grains, staged.Path, staged.Hash, body.Name ?? Path.GetFileNameWithoutExtension(target));
    }

    private static async Task<IResult> ListAsync(HttpContext http, ClusterStore store)
    {
        var list = await store.Adapters.ListAsync(TenantAuthentication.TenantOf(http), http.RequestAborted);
        return Results.Json(list.Select(AdapterGrain.ToInfo).ToList(), LoraGrainsJson.Options);
    }

    private static async Task<IResult> GetAsync(string hash, HttpContext http, GrainRuntime grains)
    {
        StorageKeys.ContentHash(hash, "hash");
        var tenant = TenantAuthentication.TenantOf(http);
        var record = await grains.CallAsync<AdapterGrain, AdapterRecord?>(hash, g => g.GetAsync(tenant, http.RequestAborted), http.RequestAborted)
            ?? throw new HttpApiException(404, $"adapter {hash} not found");
        return Results.Json(AdapterGrain.ToInfo(record), LoraGrainsJson.Options);
    }

    private static async Task<IResult> DeleteAsync(string hash, HttpContext http, GrainRuntime grains)
    {
        StorageKeys.ContentHash(hash, "hash");
        var tenant = TenantAuthentication.TenantOf(http);
        return await grains.CallAsync<AdapterGrain, bool>(hash, g => g.DeleteAsync(tenant, http.RequestAborted), http.RequestAborted)
            ? Results.NoContent()
            : throw new HttpApiException(404, $"adapter {hash} not found");
    }

    private static async Task<IResult> RegisterStagedAsync(HttpContext http, GrainRuntime grains, string staged, string hash, string name)
    {
        var tenant = TenantAuthentication.TenantOf(http);
        var record = await grains.CallAsync<AdapterGrain, AdapterRecord>(hash, g => g.RegisterAsync(tenant, name, staged, http.RequestAborted), http.RequestAborted);
        return Results.Json(AdapterGrain.ToInfo(record), LoraGrainsJson.Options, statusCode: 201);
    }

    private static async Task<(string Path, string Hash)> StageAsync(Stream source, SiloFiles files, long limit, CancellationToken cancellationToken)
    {
        var path = files.NewUploadPath();
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long total = 0;
        try
        {
            await using (var target = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                var buffer = new byte[1 << 16];
                int read;
                while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    total += read;
                    if (total > limit)
                    {
                        await RequestBody.DrainAsync(source, cancellationToken);
                        throw new HttpApiException(413, $"adapter upload exceeds the limit of {limit} bytes", "body");
                    }

                    sha.AppendData(buffer, 0, read);
                    await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }
            }

            if (total == 0)
            {
                throw new HttpApiException(400, "the adapter file is empty", "body");
            }

            return (path, Convert.ToHexStringLower(sha.GetHashAndReset()));
        }
        catch
        {
            File.Delete(path);
            throw;
        }
    }
}
