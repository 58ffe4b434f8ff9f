using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using LoraGrains.Client;
using LoraGrains.Cluster.Grains;
using LoraGrains.Cluster.Http;
using LoraGrains.Cluster.Membership;
using LoraGrains.Cluster.Runtime;
using LoraGrains.Cluster.Tests.Infrastructure;

namespace LoraGrains.Cluster.Tests.Silo;

/// <summary>Session grains live on the silo chosen by rendezvous hashing over the active silos, whichever silo a request reaches.</summary>
[Collection(PostgresCollection.Name)]
public sealed class SessionPlacementTests(PostgresServer server)
{
    [Fact]
    public async Task Every_silo_serves_a_session_through_its_rendezvous_owner_and_falls_back_when_the_owner_dies()
    {
        await using var cluster = await SiloCluster.CreateAsync(server);
        var key = await cluster.CreateTenantAsync("tenant-p");
        var otherKey = await cluster.CreateTenantAsync("tenant-q");
        var silos = new List<SiloProcess>();
        for (var i = 1; i <= 3; i++) silos.Add(await cluster.StartSiloAsync($"place-{i}"));

        var ids = Enumerable.Range(0, 9).Select(i => $"placed-{i}").ToList();
        var creator = cluster.Client(silos[0], key);
        foreach (var id in ids) await creator.CreateSessionAsync(new CreateSessionRequest(id, new JsonObject { ["steps"] = 4 }));

        var live = (await cluster.Store.Membership.ListLiveAsync(TimeSpan.FromMinutes(1))).Where(s => s.Status == SiloStatus.Active).ToList();
        Assert.Equal(3, live.Count);
        string Owner(string id, IEnumerable<SiloRecord> among) => Rendezvous.Pick(among, SessionGrain.KeyOf("tenant-p", id))!.SiloId;
        Assert.True(ids.Select(id => Owner(id, live)).Distinct().Count() > 1, "nine sessions should not all hash to one silo");

        foreach (var silo in silos)
        {
            using var http = Http(silo, key);
            foreach (var id in ids)
            {
                using var response = await http.GetAsync($"v1/sessions/{id}");
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal(Owner(id, live), ServedBy(response));
                Assert.Contains($"\"id\":\"{id}\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }
        }

        // Updates through a silo that does not own the session: the owner applies them, versions still guard them.
        var target = ids.First(id => Owner(id, live) != silos[0].SiloId);
        using (var http = Http(silos[0], key))
        {
            using var get = await http.GetAsync($"v1/sessions/{target}");
            var etag = get.Headers.ETag!.Tag;
            Assert.Equal(HttpStatusCode.OK, (await PutAsync(http, target, etag)).Status);
            var (status, servedBy) = await PutAsync(http, target, etag);
            Assert.Equal(HttpStatusCode.Conflict, status);
            Assert.Equal(Owner(target, live), servedBy);

            // Another tenant's key is forwarded too, and the owner refuses it exactly as it would locally.
            using var foreign = Http(silos[0], otherKey);
            using var denied = await foreign.GetAsync($"v1/sessions/{target}");
            Assert.Equal(HttpStatusCode.NotFound, denied.StatusCode);
        }

        // kill -9 the owner of a session: the others still serve it (the owner is unreachable, then declared dead).
        var victim = silos.Single(s => s.SiloId == Owner(target, live));
        victim.Kill();
        var survivors = silos.Where(s => s != victim).ToList();
        foreach (var silo in survivors)
        {
            using var http = Http(silo, key);
            using var response = await http.GetAsync($"v1/sessions/{target}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Contains(ServedBy(response), survivors.Select(s => s.SiloId));
        }
    }

    private static HttpClient Http(SiloProcess silo, string key)
    {
        var http = new HttpClient { BaseAddress = silo.Address };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return http;
    }

    private static string ServedBy(HttpResponseMessage response) =>
        response.Headers.TryGetValues(SessionForwarding.ServedByHeader, out var values) ? values.Single() : "(no header)";

    private static async Task<(HttpStatusCode Status, string ServedBy)> PutAsync(HttpClient http, string id, string etag)
    {
        using var put = new HttpRequestMessage(HttpMethod.Put, $"v1/sessions/{id}")
        {
            Content = new StringContent("""{"settings":{"steps":9}}""", System.Text.Encoding.UTF8, "application/json"),
        };
        put.Headers.TryAddWithoutValidation("If-Match", etag);
        using var response = await http.SendAsync(put);
        return (response.StatusCode, ServedBy(response));
    }
}
