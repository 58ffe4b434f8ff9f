using System.Net;
using System.Net.Http.Headers;
using LoraGrains.Client;
using LoraGrains.Cluster.Tests.Infrastructure;

namespace LoraGrains.Cluster.Tests.Silo;

/// <summary>(a) A tenant cannot see or use another tenant's sessions, adapters, jobs or images, on any endpoint.</summary>
[Collection(PostgresCollection.Name)]
public sealed class TenantIsolationTests(PostgresServer server)
{
    [Fact]
    public async Task Tenant_B_gets_404_for_every_resource_of_tenant_A()
    {
        await using var cluster = await SiloCluster.CreateAsync(server);
        var keyA = await cluster.CreateTenantAsync("tenant-a");
        var keyB = await cluster.CreateTenantAsync("tenant-b");
        var silo = await cluster.StartSiloAsync("iso-1");
        var a = cluster.Client(silo, keyA);
        var b = cluster.Client(silo, keyB);

        var session = await a.OpenSessionAsync("shared-name");
        var adapter = await session.RegisterAdapterAsync(TestAdapters.LoraA);
        var job = await session.GenerateAsync(new JobRequest { Prompt = "a cat", Steps = 1, Width = 64, Height = 64, Adapters = [new JobAdapter(adapter.Hash, 0.8)] });
        var done = await job.WaitAsync();
        Assert.Equal("succeeded", done.Status);

        async Task NotFound(Func<Task> call)
        {
            var e = await Assert.ThrowsAsync<LoraGrainsException>(call);
            Assert.Equal(HttpStatusCode.NotFound, e.StatusCode);
            Assert.DoesNotContain("tenant-a", e.Message, StringComparison.Ordinal);
        }

        await NotFound(() => b.GetSessionAsync("shared-name"));
        await NotFound(() => b.UpdateSessionAsync("shared-name", new UpdateSessionRequest(1, new System.Text.Json.Nodes.JsonObject { ["steps"] = 3 })));
        await NotFound(() => b.GetSessionHistoryAsync("shared-name"));
        await NotFound(() => b.GetAdapterAsync(adapter.Hash));
        await NotFound(() => b.DeleteAdapterAsync(adapter.Hash));
        await NotFound(() => b.GetJobAsync(job.Id));
        await NotFound(() => b.GetImageAsync(job.Id));
        await NotFound(() => b.CancelJobAsync(job.Id));
        await NotFound(async () => await b.Job(job.Id).WatchAsync().FirstAsync());
        await NotFound(() => b.SubmitAsync(new JobRequest { Prompt = "x", SessionId = "shared-name", Steps = 1, Width = 64, Height = 64 }));
        await NotFound(() => b.SubmitAsync(new JobRequest { Prompt = "x", Steps = 1, Width = 64, Height = 64, Adapters = [new JobAdapter(adapter.Hash)] }));
        Assert.Empty(await b.ListAdaptersAsync());

        // B's own session with the same id is B's alone: creating it does not touch A's.
        var bSession = await b.OpenSessionAsync("shared-name");
        Assert.Equal(1, bSession.Info.Version);
        Assert.Empty(bSession.Info.Adapters);

        // A still has everything.
        Assert.Equal(1, (await a.GetSessionAsync("shared-name")).Version);
        Assert.Equal(adapter.Hash, (await a.GetAdapterAsync(adapter.Hash)).Hash);
        Assert.NotEmpty(await a.GetImageAsync(job.Id));

        // No key, a malformed key and a well-formed wrong key are all 401, on every tenant endpoint.
        using var anonymous = new HttpClient { BaseAddress = silo.Address };
        foreach (var auth in new[] { null, "Bearer nonsense", "Bearer lg_0000000000000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" })
        {
            foreach (var path in new[] { "v1/sessions/shared-name", $"v1/adapters/{adapter.Hash}", $"v1/jobs/{job.Id}", $"v1/jobs/{job.Id}/image", "v1/adapters" })
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, path);
                if (auth is not null)
                {
                    request.Headers.Authorization = AuthenticationHeaderValue.Parse(auth);
                }

                using var response = await anonymous.SendAsync(request);
                Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            }
        }

        // Silo-to-silo endpoints want the cluster secret, not a tenant key.
        using var peer = new HttpRequestMessage(HttpMethod.Get, "internal/v1/silo");
        peer.Headers.Authorization = new AuthenticationHeaderValue("Bearer", keyA);
        using var refused = await anonymous.SendAsync(peer);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        using var allowed = new HttpRequestMessage(HttpMethod.Get, "internal/v1/silo");
        allowed.Headers.Add("X-Cluster-Secret", SiloProcess.ClusterSecret);
        using var ok = await anonymous.SendAsync(allowed);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }
}
