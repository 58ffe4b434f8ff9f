using System.Data.Common;
using LoraGrains.Client;
using LoraGrains.Cluster.Tests.Infrastructure;

namespace LoraGrains.Cluster.Tests.Silo;

/// <summary>(f) 200 jobs from 3 tenants over 3 silos: none lost, none completed twice, shares follow the weights.</summary>
[Collection(PostgresCollection.Name)]
public sealed class FairnessTests(PostgresServer server)
{
    [Fact]
    public async Task Two_hundred_jobs_three_tenants_three_silos()
    {
        await using var cluster = await SiloCluster.CreateAsync(server);
        var weights = new Dictionary<string, int> { ["light"] = 1, ["medium"] = 2, ["heavy"] = 3 };
        var keys = new Dictionary<string, string>();
        foreach (var (tenant, weight) in weights)
        {
            keys[tenant] = await cluster.CreateTenantAsync(tenant, weight);
        }

        // Everything is queued through a gateway silo that runs no jobs, before any worker starts.
        var gateway = await cluster.StartSiloAsync("gw", "--no-jobs");
        var submitted = new Dictionary<Guid, string>();
        var counts = new Dictionary<string, int> { ["light"] = 67, ["medium"] = 67, ["heavy"] = 66 };
        foreach (var (tenant, count) in counts)
        {
            var client = cluster.Client(gateway, keys[tenant]);
            var jobs = await Task.WhenAll(Enumerable.Range(0, count).Select(i =>
                client.SubmitAsync(new JobRequest { Prompt = $"{tenant} {i}", Steps = 1, Width = 32, Height = 32, GuidanceScale = 1, Seed = (ulong)i })));
            foreach (var job in jobs)
            {
                submitted.Add(job.Id, tenant);
            }
        }

        Assert.Equal(200, submitted.Count);
        var started = DateTime.UtcNow;
        await Task.WhenAll(cluster.StartSiloAsync("w-1"), cluster.StartSiloAsync("w-2"), cluster.StartSiloAsync("w-3"));

        var rows = new List<(Guid Id, string Tenant, string Status, int Attempts, long StartedAt, string? Sha, string? Owner)>();
        while (DateTime.UtcNow - started < TimeSpan.FromMinutes(3))
        {
            rows = await ReadJobsAsync(cluster);
            if (rows.All(r => r.Status is "succeeded" or "failed" or "cancelled"))
            {
                break;
            }

            await Task.Delay(250);
        }

        // None lost, none run twice, every image stored once.
        Assert.Equal(200, rows.Count);
        Assert.True(rows.All(r => r.Status == "succeeded"), string.Join("\n", rows.Where(r => r.Status != "succeeded")) + "\n" + cluster.Logs);
        Assert.All(rows, r => Assert.Equal(1, r.Attempts));
        Assert.Equal(submitted.Keys.Order(), rows.Select(r => r.Id).Order());
        Assert.All(rows, r => Assert.Equal(submitted[r.Id], r.Tenant));
        Assert.Equal(200, Directory.GetFiles(Path.Combine(cluster.DataDirectory, "images"), "*.png").Length);
        Assert.True(rows.Select(r => r.Owner).Distinct().Count() >= 2, "the work should be spread over the silos");
        // The silos' logs arrive asynchronously through their stdout pipes: wait for them to catch up with the
        // database, then require exactly one completion line per job (a job run twice would log twice).
        int FinishedLines() => cluster.Silos.Sum(s => System.Text.RegularExpressions.Regex.Count(s.Output, " succeeded on "));
        for (var waited = 0; FinishedLines() < 200 && waited < 100; waited++) await Task.Delay(100);
        Assert.Equal(200, FinishedLines());

        // While every tenant still had queued work, claims followed the weights 1:2:3 (each share within 20%).
        var window = rows.OrderBy(r => r.StartedAt).ThenBy(r => r.Id).Take(120).ToList();
        var total = weights.Values.Sum();
        foreach (var (tenant, weight) in weights)
        {
            var expected = window.Count * weight / (double)total;
            var actual = window.Count(r => r.Tenant == tenant);
            Assert.True(Math.Abs(actual - expected) <= 0.2 * expected, $"{tenant}: {actual} of the first {window.Count} claims, expected {expected:0.#} ± 20%");
        }
    }

    private static async Task<List<(Guid Id, string Tenant, string Status, int Attempts, long StartedAt, string? Sha, string? Owner)>> ReadJobsAsync(SiloCluster cluster)
    {
        var rows = new List<(Guid, string, string, int, long, string?, string?)>();
        await using var connection = await cluster.Store.Database.OpenConnectionAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, tenant_id, status, attempts, COALESCE(started_at, 0), result_sha256, lease_owner FROM jobs";
        await using DbDataReader reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3), reader.GetInt64(4),
                reader.IsDBNull(5) ? null : reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetString(6)));
        }

        return rows;
    }
}
