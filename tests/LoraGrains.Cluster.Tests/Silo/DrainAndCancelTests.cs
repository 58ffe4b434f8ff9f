using LoraGrains.Client;
using LoraGrains.Cluster.Tests.Infrastructure;

namespace LoraGrains.Cluster.Tests.Silo;

/// <summary>SIGTERM drains (release, leave, exit) and the job resumes elsewhere; a tenant's cancel stops a running job.</summary>
[Collection(PostgresCollection.Name)]
public sealed class DrainAndCancelTests(PostgresServer server)
{
    private static readonly JobRequest s_long = new()
    {
        Prompt = "a slow painting",
        Steps = 200,
        Width = 64,
        Height = 64,
        Seed = 77,
        CheckpointEvery = 4,
    };

    [Fact]
    public async Task Sigterm_releases_the_running_job_leaves_membership_and_another_silo_resumes_it()
    {
        await using var cluster = await SiloCluster.CreateAsync(server);
        var key = await cluster.CreateTenantAsync("tenant-d");
        var draining = await cluster.StartSiloAsync("dr-1");
        var client = cluster.Client(draining, key);
        // No periodic checkpoints: the draining silo takes one where it stops.
        var job = await client.SubmitAsync(s_long with { CheckpointEvery = 0 });
        var reached = 0;
        await foreach (var progress in job.WatchAsync())
        {
            if (progress is { Status: "running", Step: >= 10 })
            {
                reached = progress.Step;
                break;
            }
        }

        await draining.StopAsync();
        Assert.True(draining.Output.Contains("released by draining silo dr-1", StringComparison.Ordinal), draining.Output);
        Assert.True(draining.Output.Contains("Silo dr-1 is draining", StringComparison.Ordinal), draining.Output);
        Assert.True(draining.Output.Contains("left the cluster", StringComparison.Ordinal), draining.Output);
        Assert.DoesNotContain(await cluster.Store.Membership.ListLiveAsync(TimeSpan.FromMinutes(1)), s => s.SiloId == "dr-1");
        var released = await cluster.Store.Jobs.GetAsync("tenant-d", job.Id);
        Assert.Equal(Queue.JobStatus.Queued, released!.Status);
        Assert.True(released.CheckpointStep >= reached, $"checkpoint at {released.CheckpointStep}, progress had reached {reached}");

        var next = await cluster.StartSiloAsync("dr-2");
        var done = await cluster.Client(next, key).Job(job.Id).WaitAsync();
        Assert.True(done.Status == "succeeded", $"{done}\n{cluster.Logs}");
        // A release does not spend an attempt (the queue's rule): the second silo's claim is attempt 1 again.
        Assert.Equal(1, done.Attempts);
        Assert.Equal("dr-2", done.Silo);
        Assert.Contains($"resuming after step {released.CheckpointStep}", next.Output, StringComparison.Ordinal);

        // And the image is the one an uninterrupted run makes.
        var reference = await (await cluster.Client(next, key).SubmitAsync(s_long with { CheckpointEvery = 0 })).WaitAsync();
        Assert.Equal(reference.ImageSha256, done.ImageSha256);
    }

    [Fact]
    public async Task Cancel_stops_a_running_job_between_steps_and_progress_streams_through_any_silo()
    {
        await using var cluster = await SiloCluster.CreateAsync(server);
        var key = await cluster.CreateTenantAsync("tenant-x");
        var worker = await cluster.StartSiloAsync("cx-1");
        var gateway = await cluster.StartSiloAsync("cx-gw", "--no-jobs");
        var client = cluster.Client(worker, key);
        var viaGateway = cluster.Client(gateway, key);
        var job = await viaGateway.SubmitAsync(s_long);

        // Progress read through the gateway comes from the worker silo (silo-to-silo, cluster secret).
        var seen = new List<JobProgress>();
        await foreach (var progress in viaGateway.Job(job.Id).WatchAsync())
        {
            seen.Add(progress);
            if (progress is { Status: "running", Step: >= 3 })
            {
                break;
            }
        }

        Assert.Contains(seen, p => p.Silo == "cx-1" && p.Step > 0 && p.TotalSteps == 200);
        await client.CancelJobAsync(job.Id);
        var final = await viaGateway.Job(job.Id).WaitAsync();
        Assert.Equal("cancelled", final.Status);
        var image = await Assert.ThrowsAsync<LoraGrainsException>(() => client.GetImageAsync(job.Id));
        Assert.Equal(System.Net.HttpStatusCode.Conflict, image.StatusCode);
    }
}
