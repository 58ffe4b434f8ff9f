using LoraGrains.Client;
using LoraGrains.Cluster.Tests.Infrastructure;

namespace LoraGrains.Cluster.Tests.Silo;

/// <summary>(e) kill -9 a silo mid-job: another silo resumes the job from its checkpoint and the image equals an uninterrupted run's.</summary>
[Collection(PostgresCollection.Name)]
public sealed class FailoverTests(PostgresServer server)
{
    [Fact]
    public async Task Killed_silo_job_resumes_from_checkpoint_elsewhere_with_the_same_image()
    {
        await using var cluster = await SiloCluster.CreateAsync(server);
        var key = await cluster.CreateTenantAsync("tenant-f");
        var doomed = await cluster.StartSiloAsync("fo-1");
        var client = cluster.Client(doomed, key);
        var adapter = await client.RegisterAdapterAsync(TestAdapters.LoraA);
        var request = new JobRequest
        {
            Prompt = "a red fox in the snow",
            Steps = 160,
            Width = 64,
            Height = 64,
            Seed = 1234,
            Scheduler = "euler-a",
            CheckpointEvery = 4,
            Adapters = [new JobAdapter(adapter.Hash, 0.8)],
        };
        var interrupted = await client.SubmitAsync(request);

        // Wait until the job has saved a few checkpoints, then kill the silo without warning.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        JobInfo info;
        do
        {
            await Task.Delay(20);
            info = await client.GetJobAsync(interrupted.Id);
        }
        while (info.CheckpointStep is null or < 12 && !info.IsFinal && DateTime.UtcNow < deadline);
        Assert.True(info is { Status: "running", CheckpointStep: >= 12 }, $"the job should be running with a checkpoint: {info}\n{cluster.Logs}");
        doomed.Kill();
        var killedAt = info.CheckpointStep!.Value;

        var survivor = await cluster.StartSiloAsync("fo-2");
        var after = cluster.Client(survivor, key);
        var resumed = await after.Job(interrupted.Id).WaitAsync();
        Assert.True(resumed.Status == "succeeded", $"{resumed}\n{cluster.Logs}");
        Assert.Equal(2, resumed.Attempts);
        Assert.Equal("fo-2", resumed.Silo);
        Assert.Contains($"resuming after step", survivor.Output, StringComparison.Ordinal);
        Assert.Matches(@"resuming after step (\d+)", survivor.Output);
        var resumedStep = int.Parse(System.Text.RegularExpressions.Regex.Match(survivor.Output, @"resuming after step (\d+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(resumedStep >= killedAt, $"resumed after step {resumedStep}, but a checkpoint at {killedAt} existed");

        // The same request, uninterrupted.
        var reference = await (await after.SubmitAsync(request)).WaitAsync();
        Assert.Equal("succeeded", reference.Status);
        Assert.Equal(1, reference.Attempts);
        Assert.Equal(reference.ImageSha256, resumed.ImageSha256);
        Assert.Equal(await after.GetImageAsync(reference.JobId), await after.GetImageAsync(interrupted.Id));
    }
}
