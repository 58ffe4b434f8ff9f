using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using LoraGrains.Client;
using LoraGrains.Cluster.Grains;
using LoraGrains.Cluster.Queue;
using LoraGrains.Cluster.Runtime;
using LoraGrains.Cluster.Storage;
using LoraGrains.Cluster.Tenancy;
using LoraGrains.Cluster.Tests.Infrastructure;
using LoraGrains.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace LoraGrains.Cluster.Tests.Silo;

/// <summary>
/// PostgreSQL wake-ups: the queue announces claimable jobs with NOTIFY and every silo's listener wakes its worker, so a
/// job submitted anywhere is claimed at once; a silo whose worker is idle takes the job it accepts without any. The
/// silos here poll every 30 s: only a notification (or the hand-over) explains a fast claim.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class JobNotificationTests(PostgresServer server)
{
    private static readonly TimeSpan s_slowPoll = TimeSpan.FromSeconds(30);

    // Far below the poll interval, far above a claim on a loaded machine.
    private static readonly TimeSpan s_fastClaim = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Submit_release_and_lease_expiry_requeue_notify_but_an_empty_claim_does_not()
    {
        var connection = await server.CreateDatabaseAsync();
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var store = await ClusterStore.OpenAsync(new ClusterStoreOptions
        {
            Provider = ClusterDatabaseProvider.PostgreSql,
            ConnectionString = connection,
            TimeProvider = clock,
        });
        await store.Tenants.CreateTenantAsync(new Tenant("t-notify", "t-notify", 1, 10, 100));
        await using var listener = new NpgsqlConnection(connection);
        await listener.OpenAsync();
        await using (var listen = new NpgsqlCommand("LISTEN " + PostgresClusterDatabase.JobsChannel, listener))
        {
            await listen.ExecuteNonQueryAsync();
        }

        var lease = TimeSpan.FromSeconds(5);
        Assert.Null(await store.Jobs.ClaimAsync("silo-x", [], lease));
        Assert.False(await listener.WaitAsync(TimeSpan.FromMilliseconds(300)), "an empty claim announced a job");

        await store.Jobs.SubmitAsync(new JobSubmission("t-notify", null, """{"prompt":"a boat"}""", []));
        Assert.True(await listener.WaitAsync(TimeSpan.FromSeconds(5)), "submitting did not announce the job");

        var claimed = await store.Jobs.ClaimAsync("silo-x", [], lease);
        Assert.NotNull(claimed);
        Assert.False(await listener.WaitAsync(TimeSpan.FromMilliseconds(300)), "claiming announced a job");

        await store.Jobs.ReleaseAsync(claimed.JobId, "silo-x");
        Assert.True(await listener.WaitAsync(TimeSpan.FromSeconds(5)), "releasing did not announce the job");

        Assert.NotNull(await store.Jobs.ClaimAsync("silo-x", [], lease));
        clock.Advance(lease + TimeSpan.FromSeconds(1));
        Assert.Equal(1, (await store.Jobs.RequeueExpiredAsync()).Requeued);
        Assert.True(await listener.WaitAsync(TimeSpan.FromSeconds(5)), "re-queueing an expired lease did not announce the job");

        // A job that ends frees a running slot of its tenant: announced while the tenant has queued jobs, not otherwise.
        var running = await store.Jobs.ClaimAsync("silo-x", [], lease);
        Assert.NotNull(running);
        await store.Jobs.SubmitAsync(new JobSubmission("t-notify", null, """{"prompt":"a second boat"}""", []));
        Assert.True(await listener.WaitAsync(TimeSpan.FromSeconds(5)));
        await store.Jobs.CompleteAsync(running.JobId, "silo-x", "out.png", new string('a', 64));
        Assert.True(await listener.WaitAsync(TimeSpan.FromSeconds(5)), "a finished job whose tenant has queued jobs was not announced");
        var last = await store.Jobs.ClaimAsync("silo-x", [], lease);
        Assert.NotNull(last);
        Assert.False(await listener.WaitAsync(TimeSpan.FromMilliseconds(300)), "claiming announced a job");
        await store.Jobs.FailAsync(last.JobId, "silo-x", "broken");
        Assert.False(await listener.WaitAsync(TimeSpan.FromMilliseconds(300)), "a finished job announced an empty queue");
        Assert.Equal(JobStatus.Failed, (await store.Jobs.GetAsync("t-notify", last.JobId))!.Status);
    }

    [Fact]
    public async Task A_job_submitted_through_another_silos_store_is_claimed_long_before_the_poll()
    {
        var connection = await server.CreateDatabaseAsync();
        await using var gateway = await ClusterStore.OpenAsync(new ClusterStoreOptions { Provider = ClusterDatabaseProvider.PostgreSql, ConnectionString = connection });
        await gateway.Tenants.CreateTenantAsync(new Tenant("t-wake", "t-wake", 1, 10, 100));
        await using var silo = await InProcessSilo.StartAsync("worker-b", connection, configure: o => o.PollInterval = s_slowPoll);
        var first = await WaitForListenerAsync("worker-b", previousPid: null);
        // Let the worker's wake-up from the listener's connect run its empty claim and go back to its 30 s wait.
        await Task.Delay(500);

        var elapsed = await SubmitAndTimeClaimAsync(gateway, "t-wake");
        Assert.True(elapsed < s_fastClaim, $"claimed after {elapsed.TotalMilliseconds:F0} ms; the poll interval is {s_slowPoll}");
        Assert.Equal(first, await ListenerPidAsync("worker-b"));
    }

    [Fact]
    public async Task The_listener_reconnects_after_its_backend_is_terminated_and_still_wakes_the_worker()
    {
        var connection = await server.CreateDatabaseAsync();
        await using var gateway = await ClusterStore.OpenAsync(new ClusterStoreOptions { Provider = ClusterDatabaseProvider.PostgreSql, ConnectionString = connection });
        await gateway.Tenants.CreateTenantAsync(new Tenant("t-kill", "t-kill", 1, 10, 100));
        await using var silo = await InProcessSilo.StartAsync("worker-k", connection, configure: o => o.PollInterval = s_slowPoll);
        var listener = silo.Services.GetRequiredService<JobNotificationListener>();
        // Kill the backend only once LISTEN has run: killed while still opening, the first connect never counts.
        await WaitForConnectsAsync(listener, 1);
        var killed = await WaitForListenerAsync("worker-k", previousPid: null);

        await using (var admin = new NpgsqlConnection(server.AdminConnectionString))
        {
            await admin.OpenAsync();
            await using var terminate = new NpgsqlCommand("SELECT pg_terminate_backend(@pid)", admin);
            terminate.Parameters.AddWithValue("pid", killed);
            Assert.True((bool)(await terminate.ExecuteScalarAsync())!);
        }

        var reopened = await WaitForListenerAsync("worker-k", previousPid: killed);
        Assert.NotEqual(killed, reopened);
        // The backend shows up while the connection opens; the listener counts it once LISTEN has run.
        await WaitForConnectsAsync(listener, 2);
        Assert.Equal(2, listener.Connects);
        await Task.Delay(500);

        var elapsed = await SubmitAndTimeClaimAsync(gateway, "t-kill");
        Assert.True(elapsed < s_fastClaim, $"claimed after {elapsed.TotalMilliseconds:F0} ms after the reconnect; the poll interval is {s_slowPoll}");
    }

    [Fact]
    public async Task A_job_submitted_to_an_idle_silo_is_leased_to_it_as_submitted_and_wakes_no_other_silo()
    {
        var connection = await server.CreateDatabaseAsync();
        await using var taker = await InProcessSilo.StartAsync("taker-a", connection, configure: o => o.PollInterval = s_slowPoll);
        await using var other = await InProcessSilo.StartAsync("taker-b", connection, configure: o => o.PollInterval = s_slowPoll);
        var store = taker.Services.GetRequiredService<ClusterStore>();
        await store.Tenants.CreateTenantAsync(new Tenant("t-take", "t-take", 1, 10, 100));
        using var client = new LoraGrainsClient(taker.Address, (await store.Tenants.CreateApiKeyAsync("t-take")).Secret);
        // Both silos listen, so a NOTIFY would wake the other one to claim (and, half the time, win).
        await WaitForListenerAsync("taker-a", previousPid: null);
        await WaitForListenerAsync("taker-b", previousPid: null);
        await Task.Delay(500);

        var otherMetrics = other.Services.GetRequiredService<SiloMetrics>();
        var otherClaims = 0;
        var takenAsSubmitted = 0;
        var takerMetrics = taker.Services.GetRequiredService<SiloMetrics>();
        using var meters = new MeterListener();
        meters.InstrumentPublished = (instrument, l) =>
        {
            if (instrument == otherMetrics.ClaimQuery || instrument == takerMetrics.JobsClaimed)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        meters.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref otherClaims));
        meters.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag is { Key: "via", Value: "submit" })
                {
                    Interlocked.Increment(ref takenAsSubmitted);
                }
            }
        });
        meters.Start();

        // After a job the worker makes one claim (empty here) before it is idle again.
        var takerSignal = taker.Services.GetRequiredService<JobSignal>();
        async Task WhenIdleAsync()
        {
            var waited = Stopwatch.StartNew();
            while (!takerSignal.WorkerIdle)
            {
                Assert.True(waited.Elapsed < TimeSpan.FromSeconds(10), "the worker did not become idle");
                await Task.Delay(5);
            }
        }

        for (var i = 0; i < 6; i++)
        {
            await WhenIdleAsync();
            var job = await client.SubmitAsync(new JobRequest { Prompt = "a boat", Steps = 1, Width = 64, Height = 64, Seed = (ulong)i });
            Assert.Equal("succeeded", (await job.WaitAsync()).Status);
            var record = await store.Jobs.GetAsync("t-take", job.Id);
            Assert.Equal(("taker-a", 1), (record?.LeaseOwner, record?.Attempts));
        }

        Assert.Equal(6, Volatile.Read(ref takenAsSubmitted));
        Assert.Equal(0, Volatile.Read(ref otherClaims));

        // A busy silo takes nothing: the next job is queued, announced, and claimed by the idle one.
        await WhenIdleAsync();
        var busy = await client.SubmitAsync(new JobRequest { Prompt = "a long boat", Steps = 100, Width = 64, Height = 64, Seed = 7 });
        var queued = await client.SubmitAsync(new JobRequest { Prompt = "a boat", Steps = 1, Width = 64, Height = 64, Seed = 8 });
        Assert.Equal("succeeded", (await queued.WaitAsync()).Status);
        Assert.Equal("succeeded", (await busy.WaitAsync()).Status);
        Assert.Equal("taker-a", (await store.Jobs.GetAsync("t-take", busy.Id))?.LeaseOwner);
        Assert.Equal("taker-b", (await store.Jobs.GetAsync("t-take", queued.Id))?.LeaseOwner);
    }

    private static async Task<TimeSpan> SubmitAndTimeClaimAsync(ClusterStore gateway, string tenant)
    {
        var request = JobRequestResolver.Resolve(new JobRequest { Prompt = "a boat", Steps = 1, Width = 64, Height = 64, Seed = 1 }, null, 64);
        var watch = Stopwatch.StartNew();
        var id = await gateway.Jobs.SubmitAsync(new JobSubmission(tenant, null, JsonSerializer.Serialize(request, LoraGrainsJson.Options), []));
        while (watch.Elapsed < s_slowPoll + TimeSpan.FromSeconds(5))
        {
            if ((await gateway.Jobs.GetAsync(tenant, id))!.Status != JobStatus.Queued)
            {
                return watch.Elapsed;
            }

            await Task.Delay(10);
        }

        return watch.Elapsed;
    }

    // The backend pid of the silo's listening connection once it is listening (and differs from previousPid).
    private static async Task WaitForConnectsAsync(JobNotificationListener listener, int connects)
    {
        var waited = Stopwatch.StartNew();
        while (listener.Connects < connects && waited.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(20);
        }
    }

    private async Task<int> WaitForListenerAsync(string siloId, int? previousPid)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (await ListenerPidAsync(siloId) is { } pid && pid != previousPid)
            {
                return pid;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"silo {siloId} has no listening connection (previous backend {previousPid})");
    }

    private async Task<int?> ListenerPidAsync(string siloId)
    {
        await using var admin = new NpgsqlConnection(server.AdminConnectionString);
        await admin.OpenAsync();
        // pg_listening_channels() answers only for the asking backend, so the listener is found by its application name.
        await using var command = new NpgsqlCommand(
            "SELECT pid FROM pg_stat_activity WHERE application_name = @name ORDER BY backend_start DESC LIMIT 1", admin);
        command.Parameters.AddWithValue("name", JobNotificationListener.ApplicationName(siloId));
        return await command.ExecuteScalarAsync() is int pid ? pid : null;
    }
}
