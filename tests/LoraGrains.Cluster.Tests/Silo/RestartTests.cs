using System.Security.Cryptography;
using System.Text.Json.Nodes;
using LoraGrains.Client;
using LoraGrains.Cluster.Tests.Infrastructure;

namespace LoraGrains.Cluster.Tests.Silo;

/// <summary>(d) Restarting every silo loses nothing: sessions, adapters and finished images are all still there.</summary>
[Collection(PostgresCollection.Name)]
public sealed class RestartTests(PostgresServer server)
{
    [Fact]
    public async Task Restarting_every_silo_keeps_sessions_adapters_and_images()
    {
        await using var cluster = await SiloCluster.CreateAsync(server);
        var key = await cluster.CreateTenantAsync("tenant-r");
        var first = new[] { await cluster.StartSiloAsync("rs-1"), await cluster.StartSiloAsync("rs-2") };
        var client = cluster.Client(first[0], key);
        var session = await client.OpenSessionAsync("keep", new JsonObject { ["steps"] = 2, ["width"] = 64, ["height"] = 64 });
        var adapterA = await session.RegisterAdapterAsync(TestAdapters.LoraA);
        var adapterB = await session.RegisterAdapterAsync(TestAdapters.LoraB);
        await session.UpdateAsync(new UpdateSessionRequest(Adapters: [new SessionAdapterEntry(adapterA.Hash, 0.9), new SessionAdapterEntry(adapterB.Hash, 0.6)]));
        var job = await session.GenerateAsync(new JobRequest { Prompt = "a lighthouse", Seed = 3 });
        var done = await job.WaitAsync();
        Assert.True(done.Status == "succeeded", $"{done.Status} {done.Error}\n{cluster.Logs}");
        var image = await job.GetImageAsync();
        Assert.Equal(done.ImageSha256, Convert.ToHexStringLower(SHA256.HashData(image)));

        foreach (var silo in first)
        {
            await silo.StopAsync();
        }

        var live = await cluster.Store.Membership.ListLiveAsync(TimeSpan.FromMinutes(1));
        Assert.DoesNotContain(live, s => s.SiloId is "rs-1" or "rs-2");

        var second = new[] { await cluster.StartSiloAsync("rs-3"), await cluster.StartSiloAsync("rs-4") };
        foreach (var silo in second)
        {
            var after = cluster.Client(silo, key);
            var stored = await after.GetSessionAsync("keep");
            Assert.Equal(2, stored.Version);
            Assert.Equal(2, (int)stored.Settings["steps"]!);
            Assert.Equal([adapterA.Hash, adapterB.Hash], stored.Adapters.Select(a => a.Hash));
            var adapters = await after.ListAdaptersAsync();
            Assert.Equal(new[] { adapterA.Hash, adapterB.Hash }.Order(), adapters.Select(a => a.Hash).Order());
            Assert.Equal(image, await after.GetImageAsync(job.Id));
            Assert.Equal("succeeded", (await after.GetJobAsync(job.Id)).Status);
            Assert.Equal([job.Id], (await after.GetSessionHistoryAsync("keep")).Select(j => j.JobId));
        }

        // The restarted cluster still runs the session's jobs with the stored adapters.
        var reopened = await cluster.Client(second[1], key).OpenSessionAsync("keep");
        var again = await (await reopened.GenerateAsync(new JobRequest { Prompt = "a lighthouse", Seed = 3 })).WaitAsync();
        Assert.Equal(done.ImageSha256, again.ImageSha256);
    }
}
