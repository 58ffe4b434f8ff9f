using System.Net;
using System.Net.Http.Headers;
using System.Text;
using LoraGrains.Client;
using LoraGrains.Cluster.Tests.Infrastructure;

namespace LoraGrains.Cluster.Tests.Silo;

/// <summary>(b) Malformed requests and oversized uploads get a 4xx naming the problem, and nothing is stored.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ValidationTests(PostgresServer server)
{
    [Fact]
    public async Task Bad_requests_are_refused_with_clear_messages_and_store_nothing()
    {
        await using var cluster = await SiloCluster.CreateAsync(server);
        var key = await cluster.CreateTenantAsync("tenant-v");
        var silo = await cluster.StartSiloAsync("val-1", "--max-upload", "64k");
        using var http = new HttpClient { BaseAddress = silo.Address };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);

        async Task<ApiError> Refused(HttpStatusCode expected, HttpMethod method, string path, HttpContent? content, string? mentions = null)
        {
            using var request = new HttpRequestMessage(method, path) { Content = content };
            using var response = await http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(expected == response.StatusCode, $"{method} {path}: expected {expected}, got {(int)response.StatusCode} {text}");
            var error = System.Text.Json.JsonSerializer.Deserialize<ApiError>(text, LoraGrainsJson.Options)!;
            if (mentions is not null)
            {
                Assert.Contains(mentions, error.Error, StringComparison.OrdinalIgnoreCase);
            }

            return error;
        }

        static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

        // Jobs: every field checked, named, with its limit.
        Assert.Equal("steps", (await Refused(HttpStatusCode.BadRequest, HttpMethod.Post, "v1/jobs", Json("""{"prompt":"x","steps":0}"""), "between 1 and 1000")).Field);
        Assert.Equal("steps", (await Refused(HttpStatusCode.BadRequest, HttpMethod.Post, "v1/jobs", Json("""{"prompt":"x","steps":5000}"""), "between 1 and 1000")).Field);
        Assert.Equal("width", (await Refused(HttpStatusCode.BadRequest, HttpMethod.Post, "v1/jobs", Json("""{"prompt":"x","width":63}"""), "multiple of 8")).Field);
        Assert.Equal("height", (await Refused(HttpStatusCode.BadRequest, HttpMethod.Post, "v1/jobs", Json("""{"prompt":"x","height":100000}"""), "4096")).Field);
        Assert.Equal("guidanceScale", (await Refused(HttpStatusCode.BadRequest, HttpMethod.Post, "v1/jobs", Json("""{"prompt":"x","guidanceScale":-1}"""), "between 0 and 100")).Field);
        Assert.Equal("prompt", (await Refused(HttpStatusCode.BadRequest, HttpMethod.Post, "v1/jobs", Json("""{"steps":3}"""), "prompt is required")).Field);
        Assert.Equal("prompt", (await Refused(HttpStatusCode.BadRequest, HttpMethod.Post, "v1/jobs", Json($$"""{"prompt":"{{new string('a', 5000)}}"}"""), "4096")).Field);
        Assert.Equal("scheduler", (await Refused(HttpStatusCode.BadRequest, HttpMethod.Post, "v1/jobs", Json("""{"prompt":"x","scheduler":"warp"}"""), "unknown scheduler")).Field);
        Assert.Equal("method", (await Refused(HttpStatusCode.BadRequest, HttpMethod.Post, "v1/jobs", Json("""{"prompt":"x","method":"blend"}"""), "unknown composition method")).Field);
        Assert.Equal("adapters", (await Refused(HttpStatusCode.BadRequest, HttpMethod.Post, "v1/jobs", Json("""{"prompt":"x","adapters":[{"hash":"nothex","weight":1}]}"""))).Field);
        await Refused(HttpStatusCode.BadRequest, HttpMethod.Post, "v1/jobs", Json("""{"prompt":"x","steps":"many"}"""), "not valid JSON");
        await Refused(HttpStatusCode.BadRequest, HttpMethod.Post, "v1/jobs", Json("""{"prompt":"x","stepz":3}"""), "stepz");
        await Refused(HttpStatusCode.BadRequest, HttpMethod.Post, "v1/jobs", Json("""{"prompt":"x","""), "not valid JSON");
        await Refused(HttpStatusCode.BadRequest, HttpMethod.Post, "v1/jobs", Json(""), "JSON body is required");
        await Refused(HttpStatusCode.RequestEntityTooLarge, HttpMethod.Post, "v1/jobs", Json($$"""{"prompt":"{{new string('a', 2 << 20)}}"}"""), "limit");
        // Without a Content-Length the body is gathered piece by piece, whole (it reaches the field checks), and held to the limit.
        var (chunkedJob, chunkedJobText) = await SendChunked(http, "v1/jobs", Encoding.UTF8.GetBytes($$"""{"prompt":"x",{{new string(' ', 50_000)}}"steps":0}"""), "application/json");
        Assert.True(chunkedJob == HttpStatusCode.BadRequest, chunkedJobText);
        Assert.Contains("between 1 and 1000", chunkedJobText, StringComparison.Ordinal);
        (chunkedJob, chunkedJobText) = await SendChunked(http, "v1/jobs", Encoding.UTF8.GetBytes($$"""{"prompt":"{{new string('a', 2 << 20)}}"}"""), "application/json");
        Assert.True(chunkedJob == HttpStatusCode.RequestEntityTooLarge, chunkedJobText);
        Assert.Contains("limit", chunkedJobText, StringComparison.Ordinal);

        // Malformed ids are the same 404 as foreign ones.
        await Refused(HttpStatusCode.NotFound, HttpMethod.Get, "v1/jobs/not-a-guid", null, "not found");
        await Refused(HttpStatusCode.NotFound, HttpMethod.Get, $"v1/jobs/{Guid.NewGuid()}/image", null, "not found");

        // Sessions: bad ids, bad settings, bad adapter sets.
        Assert.Equal("id", (await Refused(HttpStatusCode.BadRequest, HttpMethod.Post, "v1/sessions", Json("""{"id":"has space"}"""))).Field);
        await Refused(HttpStatusCode.BadRequest, HttpMethod.Post, "v1/sessions", Json("""{"id":"s1","settings":{"steps":"x"}}"""), "settings");
        await Refused(HttpStatusCode.BadRequest, HttpMethod.Post, "v1/sessions", Json("""{"id":"s1","settings":[1,2]}"""));
        await Refused(HttpStatusCode.BadRequest, HttpMethod.Post, "v1/sessions", Json("""{"id":"s1","adapters":[{"hash":"abc","weight":1}]}"""));
        await Refused((HttpStatusCode)428, HttpMethod.Put, "v1/sessions/none", Json("""{"settings":{}}"""), "version");

        // Adapters: too big (413 before anything is kept), not an adapter (400), a path outside the roots (400).
        var big = new ByteArrayContent(new byte[200 * 1024]);
        big.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        await Refused(HttpStatusCode.RequestEntityTooLarge, HttpMethod.Post, "v1/adapters?name=big", big, "limit of 65536 bytes");
        var (chunkedStatus, chunkedText) = await SendChunked(http, "v1/adapters?name=big", new byte[200 * 1024]);
        Assert.True(chunkedStatus == HttpStatusCode.RequestEntityTooLarge, chunkedText);
        Assert.Contains("limit", chunkedText, StringComparison.Ordinal);
        var garbage = new ByteArrayContent(Encoding.UTF8.GetBytes("definitely not safetensors"));
        garbage.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        await Refused(HttpStatusCode.BadRequest, HttpMethod.Post, "v1/adapters?name=garbage", garbage, "not a usable LoRA adapter");
        Assert.Equal("path", (await Refused(HttpStatusCode.BadRequest, HttpMethod.Post, "v1/adapters/register", Json($$"""{"path":"{{TestAdapters.LoraA}}"}"""), "allow-listed")).Field);

        // Nothing was stored: no sessions, adapters, jobs, no files.
        var client = cluster.Client(silo, key);
        Assert.Empty(await client.ListAdaptersAsync());
        var e = await Assert.ThrowsAsync<LoraGrainsException>(() => client.GetSessionAsync("s1"));
        Assert.Equal(HttpStatusCode.NotFound, e.StatusCode);
        await using (var connection = await cluster.Store.Database.OpenConnectionAsync(CancellationToken.None))
        {
            foreach (var table in new[] { "jobs", "sessions", "adapters" })
            {
                await using var count = connection.CreateCommand();
                count.CommandText = $"SELECT COUNT(*) FROM {table}";
                Assert.Equal(0L, Convert.ToInt64(await count.ExecuteScalarAsync()));
            }
        }

        Assert.Empty(Directory.GetFiles(cluster.DataDirectory, "*", SearchOption.AllDirectories));

        // The OpenAPI document describes the API; metrics and health answer without a key.
        using var anonymous = new HttpClient { BaseAddress = silo.Address };
        var openApi = await anonymous.GetStringAsync("openapi/v1.json");
        foreach (var path in new[] { "/v1/sessions", "/v1/adapters", "/v1/jobs", "/v1/jobs/{jobId}/events", "JobRequest" })
        {
            Assert.Contains(path, openApi, StringComparison.Ordinal);
        }

        Assert.Equal("ok\n", await anonymous.GetStringAsync("healthz"));
        Assert.Contains("loragrains_claim_query_ms_count", await anonymous.GetStringAsync("metrics"), StringComparison.Ordinal);

        // Malformed Composite passes on a denoise link: each gets an answer naming what is wrong, and the link goes on.
        var address = silo.Address.ToString();
        using (var link = Grains.DenoiseLink.Open(address, SiloProcess.ClusterSecret, TimeSpan.FromSeconds(30)))
        {
            var unknown = new string('a', 64);
            var answer = link.Run(unknown, 0.8, [0, 1, 2, 0, 0, 0, 0, 0, 0, 0]);
            Assert.Equal(400, answer.Status);
            Assert.Contains("three tensor frames", answer.ErrorText, StringComparison.Ordinal);
            using var latents = Torch.Torch.Zeros([2, 4, 8, 8]);
            using var timestep = Torch.Torch.Zeros([]);
            using var states = Torch.Torch.Zeros([3, 77, 32]);
            using var fitting = Torch.Torch.Zeros([4, 77, 32]);
            answer = link.Run(unknown, 0.8, Grains.TensorFrames.Encode([latents, timestep, states]));
            Assert.Equal(400, answer.Status);
            Assert.Contains("batch of the text states (3) must be a whole multiple of the batch of the latents (2)", answer.ErrorText, StringComparison.Ordinal);
            var frames = Grains.TensorFrames.Encode([latents, timestep, fitting]);
            answer = link.Run(unknown, double.NaN, frames);
            Assert.Equal(400, answer.Status);
            Assert.Contains("scale must be finite", answer.ErrorText, StringComparison.Ordinal);
            answer = link.Run(new string('Z', 64), 0.8, frames);
            Assert.Equal(400, answer.Status);
            Assert.Contains("64 lowercase hex digits", answer.ErrorText, StringComparison.Ordinal);
            // Well-formed, but no such adapter in the data directory: 404 naming it, and still the same link.
            answer = link.Run(unknown, 0.8, frames);
            Assert.Equal(404, answer.Status);
            Assert.Contains($"adapter {unknown}", answer.ErrorText, StringComparison.Ordinal);
        }

        // The link is for silos only, and only as an upgrade.
        var refused = Assert.Throws<IOException>(() => Grains.DenoiseLink.Open(address, "not-the-secret", TimeSpan.FromSeconds(30)));
        Assert.Contains("401", refused.Message, StringComparison.Ordinal);
        Assert.Contains("cluster secret", refused.Message, StringComparison.Ordinal);
        using (var plain = new HttpRequestMessage(HttpMethod.Get, Grains.DenoiseLink.Path))
        {
            plain.Headers.Add("X-Cluster-Secret", SiloProcess.ClusterSecret);
            using var response = await anonymous.SendAsync(plain);
            Assert.Equal(HttpStatusCode.UpgradeRequired, response.StatusCode);
            Assert.Contains(Grains.DenoiseLink.Protocol, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // A message announcing more than a pass may carry: 413, and the link is closed (its bytes are never read).
        using (var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp))
        {
            await socket.ConnectAsync(silo.Address.Host, silo.Address.Port);
            await using var stream = new System.Net.Sockets.NetworkStream(socket, ownsSocket: false);
            await stream.WriteAsync(Encoding.ASCII.GetBytes(
                $"GET /{Grains.DenoiseLink.Path} HTTP/1.1\r\nHost: {silo.Address.Authority}\r\nConnection: Upgrade\r\nUpgrade: {Grains.DenoiseLink.Protocol}\r\n" +
                $"X-Cluster-Secret: {SiloProcess.ClusterSecret}\r\n\r\n"));
            var head = new List<byte>();
            var one = new byte[1];
            while (!Encoding.ASCII.GetString([.. head]).EndsWith("\r\n\r\n", StringComparison.Ordinal))
            {
                Assert.Equal(1, await stream.ReadAsync(one));
                head.Add(one[0]);
            }

            Assert.StartsWith("HTTP/1.1 101", Encoding.ASCII.GetString([.. head]), StringComparison.Ordinal);
            await stream.WriteAsync(BitConverter.GetBytes(int.MaxValue));
            var message = Grains.DenoiseLink.ReadMessage(stream, 1 << 20);
            Assert.NotNull(message);
            var tooLarge = Grains.DenoiseAnswer.Parse(message);
            Assert.Equal(413, tooLarge.Status);
            Assert.Contains($"at most {Http.SiloEndpoints.MaxDenoiseMessageBytes} bytes", tooLarge.ErrorText, StringComparison.Ordinal);
            Assert.Null(Grains.DenoiseLink.ReadMessage(stream, 1 << 20));
        }
    }

    private static async Task<(HttpStatusCode Status, string Text)> SendChunked(HttpClient http, string path, byte[] body, string contentType = "application/octet-stream")
    {
        // No Content-Length: the limit must hold while streaming too.
        using var content = new PushStreamContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        using var response = await http.PostAsync(path, content);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private sealed class PushStreamContent(byte[] body) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            for (var i = 0; i < body.Length; i += 8192)
            {
                await stream.WriteAsync(body.AsMemory(i, Math.Min(8192, body.Length - i)));
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
