using System.Net;
using System.Text.Json.Nodes;
using LoraGrains.Client;
using LoraGrains.Cluster.Tests.Infrastructure;

namespace LoraGrains.Cluster.Tests.Silo;

/// <summary>(c) Concurrent updates of one session through two silos: exactly one wins, the other gets 409.</summary>
[Collection(PostgresCollection.Name)]
public sealed class SessionConcurrencyTests(PostgresServer server)
{
    [Fact]
    public async Task Concurrent_updates_one_wins_the_other_gets_409()
    {
        await using var cluster = await SiloCluster.CreateAsync(server);
        var key = await cluster.CreateTenantAsync("tenant-c");
        var silo1 = await cluster.StartSiloAsync("conc-1");
        var silo2 = await cluster.StartSiloAsync("conc-2");
        var viaOne = cluster.Client(silo1, key);
        var viaTwo = cluster.Client(silo2, key);
        var session = await viaOne.CreateSessionAsync(new CreateSessionRequest("story", new JsonObject { ["steps"] = 10 }));

        for (var round = 0; round < 10; round++)
        {
            var version = (await viaOne.GetSessionAsync("story")).Version;
            var first = Attempt(viaOne, version, 100 + round);
            var second = Attempt(viaTwo, version, 200 + round);
            var results = await Task.WhenAll(first, second);
            Assert.Single(results, r => r.Status == HttpStatusCode.OK);
            Assert.Single(results, r => r.Status == HttpStatusCode.Conflict);
            var winner = results.Single(r => r.Status == HttpStatusCode.OK);
            var stored = await viaTwo.GetSessionAsync("story");
            Assert.Equal(version + 1, stored.Version);
            Assert.Equal(winner.Steps, (int)stored.Settings["steps"]!);
            Assert.Contains("version", results.Single(r => r.Status == HttpStatusCode.Conflict).Message, StringComparison.Ordinal);
        }

        Assert.Equal(session.Version + 10, (await viaOne.GetSessionAsync("story")).Version);

        // The same through raw HTTP with ETag / If-Match.
        using var http = new HttpClient { BaseAddress = silo2.Address };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        using var get = await http.GetAsync("v1/sessions/story");
        var etag = get.Headers.ETag!.Tag;
        Assert.Equal($"\"{session.Version + 10}\"", etag);
        async Task<HttpStatusCode> PutAsync(string ifMatch)
        {
            using var put = new HttpRequestMessage(HttpMethod.Put, "v1/sessions/story") { Content = new StringContent("""{"settings":{"steps":7}}""", System.Text.Encoding.UTF8, "application/json") };
            put.Headers.TryAddWithoutValidation("If-Match", ifMatch);
            using var response = await http.SendAsync(put);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, await PutAsync(etag));
        Assert.Equal(HttpStatusCode.Conflict, await PutAsync(etag));
    }

    private static async Task<(HttpStatusCode Status, int Steps, string Message)> Attempt(LoraGrainsClient client, long version, int steps)
    {
        try
        {
            await client.UpdateSessionAsync("story", new UpdateSessionRequest(version, new JsonObject { ["steps"] = steps }));
            return (HttpStatusCode.OK, steps, string.Empty);
        }
        catch (LoraGrainsException e)
        {
            return (e.StatusCode, steps, e.Message);
        }
    }
}
