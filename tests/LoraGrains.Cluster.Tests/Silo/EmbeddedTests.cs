using LoraGrains.Client;
using LoraGrains.Cluster.Runtime;
using LoraGrains.Cluster.Tests.Infrastructure;

namespace LoraGrains.Cluster.Tests.Silo;

/// <summary>The embedded mode: an in-process silo on SQLite behind the same client interface.</summary>
public sealed class EmbeddedTests
{
    [Fact]
    public async Task Embedded_silo_generates_through_the_client_with_progress()
    {
        var data = Path.Combine(Path.GetTempPath(), $"lg-embedded-{Guid.NewGuid():N}");
        try
        {
            byte[] first;
            Guid jobId;
            await using (var embedded = await EmbeddedLoraGrains.StartAsync(data, o => o.Threads = 1))
            {
                var session = await embedded.Client.OpenSessionAsync("local-session");
                var adapter = await session.RegisterAdapterAsync(TestAdapters.LoraB, "locon");
                Assert.Equal("locon", adapter.Name);
                var job = await session.GenerateAsync(new JobRequest { Prompt = "a boat", Steps = 4, Width = 64, Height = 64, Adapters = [new JobAdapter(adapter.Hash, 0.7)] });
                var progress = new List<JobProgress>();
                await foreach (var p in job.WatchAsync())
                {
                    progress.Add(p);
                }

                Assert.Equal("succeeded", progress[^1].Status);
                Assert.Equal(4, progress[^1].Step);
                first = await job.GetImageAsync();

                // The image names the adapter as registered (files are stored by hash).
                Assert.Contains("Lora: \"locon: 0.7\"", System.Text.Encoding.Latin1.GetString(first), StringComparison.Ordinal);

                // The adapter's tier shows on /metrics.
                using (var http = new HttpClient { BaseAddress = embedded.Address })
                {
                    var metrics = await http.GetStringAsync("/metrics");
                    Assert.Contains("loragrains_adapters_resident_count{tier=\"device\"} 1\n", metrics, StringComparison.Ordinal);
                    Assert.Contains("loragrains_adapters_promoted{from=\"disk\"} 1\n", metrics, StringComparison.Ordinal);
                }

                Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, first[..4]);
                jobId = job.Id;
            }

            // The SQLite file keeps everything across restarts of the embedded silo.
            await using (var again = await EmbeddedLoraGrains.StartAsync(data, o => o.Threads = 1))
            {
                Assert.Equal(first, await again.Client.GetImageAsync(jobId));
                Assert.Single(await again.Client.ListAdaptersAsync());

                // A batch: each image by its index; past the batch, a clear 404.
                var batch = await again.Client.SubmitAsync(new JobRequest { Prompt = "two boats", Steps = 1, Width = 64, Height = 64, BatchSize = 2 });
                Assert.Equal("succeeded", (await batch.WaitAsync()).Status);
                var images = new[] { await batch.GetImageAsync(0), await batch.GetImageAsync(1) };
                Assert.Equal(images[0], await batch.GetImageAsync());
                Assert.NotEqual(images[0], images[1]);
                var missing = await Assert.ThrowsAsync<LoraGrainsException>(() => batch.GetImageAsync(2));
                Assert.Equal(System.Net.HttpStatusCode.NotFound, missing.StatusCode);
                Assert.Contains("has no image 2", missing.Detail, StringComparison.Ordinal);
            }

            // Each run issued its client a key and revoked it when it ended: none is left valid in the data directory.
            await using (var store = await Storage.ClusterStore.OpenAsync(new SiloOptions { DataDirectory = data, DatabaseProvider = Storage.ClusterDatabaseProvider.Sqlite }.ToStoreOptions()))
            {
                var keys = await store.Tenants.ListApiKeysAsync(EmbeddedLoraGrains.LocalTenant);
                Assert.Equal(2, keys.Count);
                Assert.All(keys, k => Assert.NotNull(k.RevokedAt));
            }
        }
        finally
        {
            if (Directory.Exists(data))
            {
                Directory.Delete(data, recursive: true);
            }
        }
    }
}
