using System.Collections.Concurrent;
using System.Diagnostics;
using LoraGrains.Cluster.Queue;
using LoraGrains.Cluster.Storage;
using LoraGrains.Cluster.Tests.Infrastructure;
using Xunit.Abstractions;

namespace LoraGrains.Cluster.Tests;

/// <summary>The durable job queue's behaviour, run against both providers.</summary>
public abstract class JobQueueTests(StoreTarget target, ITestOutputHelper output) : StoreTestBase(target)
{
    private protected static readonly TimeSpan s_lease = TimeSpan.FromSeconds(30);
    private static readonly string s_sha = new('a', 64);
    private static readonly string s_hashX = new('1', 64);
    private static readonly string s_hashY = new('2', 64);
    private static readonly string s_hashZ = new('3', 64);

    private protected static JobSubmission Job(string tenant, int maxAttempts = 3, params string[] adapters) =>
        new(tenant, null, """{"prompt":"a photo of an astronaut","steps":20}""", adapters, maxAttempts);

    [Fact]
    public async Task Concurrent_claimers_lose_nothing_claim_nothing_twice_and_share_by_weight()
    {
        var options = await NewDatabaseAsync();
        var admin = await OpenAsync(options);
        var weights = new Dictionary<string, int> { ["light"] = 1, ["medium"] = 2, ["heavy"] = 3 };
        foreach (var (tenant, weight) in weights)
        {
            await CreateTenantAsync(admin, tenant, weight);
        }

        // 200 jobs split by weight, so every tenant stays busy until near the end and the shares are visible.
        var submitted = new ConcurrentDictionary<Guid, string>();
        var plan = new[] { ("light", 34), ("medium", 66), ("heavy", 100) };
        await Task.WhenAll(plan.Select(async p =>
        {
            for (var i = 0; i < p.Item2; i++)
            {
                submitted[await admin.Jobs.SubmitAsync(Job(p.Item1))] = p.Item1;
            }
        }));
        Assert.Equal(200, submitted.Count);

        // Three silos, each with its own store (its own connection pool), claiming and completing in parallel.
        var silos = new List<ClusterStore>();
        for (var i = 0; i < 3; i++)
        {
            silos.Add(await OpenAsync(options));
        }

        var claims = new ConcurrentQueue<(long Order, ClaimedJob Job)>();
        var latencies = new ConcurrentBag<double>();
        long order = 0;
        await Task.WhenAll(silos.Select((silo, index) => Task.Run(async () =>
        {
            var siloId = $"silo-{index}";
            while (true)
            {
                var watch = Stopwatch.StartNew();
                var job = await silo.Jobs.ClaimAsync(siloId, [], s_lease);
                latencies.Add(watch.Elapsed.TotalMilliseconds);
                if (job is null)
                {
                    return;
                }

                claims.Enqueue((Interlocked.Increment(ref order), job));
                await silo.Jobs.CompleteAsync(job.JobId, siloId, $"/images/{job.JobId}.png", s_sha);
            }
        })));

        var claimed = claims.OrderBy(c => c.Order).Select(c => c.Job).ToList();
        Assert.Equal(200, claimed.Count);
        Assert.Equal(200, claimed.Select(c => c.JobId).Distinct().Count());
        Assert.True(claimed.All(c => submitted.ContainsKey(c.JobId) && c.Attempt == 1));
        foreach (var (jobId, tenant) in submitted)
        {
            var record = await admin.Jobs.GetAsync(tenant, jobId);
            Assert.NotNull(record);
            Assert.Equal(JobStatus.Succeeded, record.Status);
            Assert.Equal(1, record.Attempts);
        }

        // A job completes at most once: a repeat completion by its own (former) owner changes nothing.
        var first = claimed[0];
        await Assert.ThrowsAsync<LeaseLostException>(() => admin.Jobs.CompleteAsync(first.JobId, first.LeaseOwner, "/images/again.png", s_sha));
        Assert.Equal($"/images/{first.JobId}.png", (await admin.Jobs.GetAsync(first.TenantId, first.JobId))!.ResultPath);

        const int window = 120;
        var total = weights.Values.Sum();
        foreach (var (tenant, weight) in weights)
        {
            var expected = window * weight / (double)total;
            var actual = claimed.Take(window).Count(c => c.TenantId == tenant);
            output.WriteLine($"{tenant}: {actual} of the first {window} claims (weight share {expected:F1})");
            Assert.InRange(actual, expected * 0.8, expected * 1.2);
        }

        var sorted = latencies.Order().ToArray();
        output.WriteLine($"{Target.Provider}: {sorted.Length} claims by 3 concurrent silos, latency p50 {sorted[sorted.Length / 2]:F2} ms, " +
                         $"p95 {sorted[(int)(sorted.Length * 0.95)]:F2} ms, max {sorted[^1]:F2} ms");
    }

    [Fact]
    public async Task Expired_lease_is_requeued_with_its_checkpoint_and_the_old_owner_can_no_longer_write()
    {
        var options = await NewDatabaseAsync();
        var silo1 = await OpenAsync(options);
        var silo2 = await OpenAsync(options);
        await CreateTenantAsync(silo1, "acme");
        var jobId = await silo1.Jobs.SubmitAsync(Job("acme"));

        var first = await silo1.Jobs.ClaimAsync("silo-1", [], s_lease);
        Assert.Equal(jobId, first?.JobId);
        Assert.Null(first!.Checkpoint);
        await silo1.Jobs.SaveCheckpointAsync(jobId, "silo-1", 7, new byte[] { 1, 2, 3, 4 });
        Assert.Null(await silo2.Jobs.ClaimAsync("silo-2", [], s_lease));

        Clock.Advance(s_lease + TimeSpan.FromSeconds(1));
        var second = await silo2.Jobs.ClaimAsync("silo-2", [], s_lease);
        Assert.NotNull(second);
        Assert.Equal(jobId, second.JobId);
        Assert.Equal(2, second.Attempt);
        Assert.Equal(7, second.Checkpoint?.Step);
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, second.Checkpoint?.Data);

        var lost = await Assert.ThrowsAsync<LeaseLostException>(() => silo1.Jobs.CompleteAsync(jobId, "silo-1", "/stale.png", s_sha));
        Assert.Contains("silo-2", lost.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<LeaseLostException>(() => silo1.Jobs.RenewLeaseAsync(jobId, "silo-1", s_lease));
        await Assert.ThrowsAsync<LeaseLostException>(() => silo1.Jobs.SaveCheckpointAsync(jobId, "silo-1", 9, new byte[] { 9 }));
        await Assert.ThrowsAsync<LeaseLostException>(() => silo1.Jobs.FailAsync(jobId, "silo-1", "stale"));

        var renewal = await silo2.Jobs.RenewLeaseAsync(jobId, "silo-2", s_lease);
        Assert.False(renewal.CancellationRequested);
        await silo2.Jobs.CompleteAsync(jobId, "silo-2", "/fresh.png", s_sha);
        var record = await silo1.Jobs.GetAsync("acme", jobId);
        Assert.Equal(JobStatus.Succeeded, record?.Status);
        Assert.Equal("/fresh.png", record?.ResultPath);
        Assert.Equal("silo-2", record?.LeaseOwner);
    }

    [Fact]
    public async Task A_job_whose_lease_keeps_expiring_fails_after_its_attempts_with_the_reason()
    {
        var store = await NewStoreAsync();
        await CreateTenantAsync(store, "acme");
        var jobId = await store.Jobs.SubmitAsync(Job("acme", maxAttempts: 2));

        Assert.Equal(jobId, (await store.Jobs.ClaimAsync("silo-1", [], s_lease))?.JobId);
        Clock.Advance(s_lease + TimeSpan.FromSeconds(1));
        Assert.Equal(2, (await store.Jobs.ClaimAsync("silo-2", [], s_lease))?.Attempt);
        Clock.Advance(s_lease + TimeSpan.FromSeconds(1));

        var sweep = await store.Jobs.RequeueExpiredAsync();
        Assert.Equal(new LeaseSweepResult(0, 1, 0), sweep);
        var record = await store.Jobs.GetAsync("acme", jobId);
        Assert.Equal(JobStatus.Failed, record?.Status);
        Assert.Equal("lease expired 2 times", record?.Error);
        Assert.NotNull(record?.FinishedAt);
        Assert.Null(await store.Jobs.ClaimAsync("silo-3", [], s_lease));
    }

    [Fact]
    public async Task Renewed_lease_does_not_expire()
    {
        var store = await NewStoreAsync();
        await CreateTenantAsync(store, "acme");
        var jobId = await store.Jobs.SubmitAsync(Job("acme"));
        await store.Jobs.ClaimAsync("silo-1", [], s_lease);
        for (var i = 0; i < 3; i++)
        {
            Clock.Advance(TimeSpan.FromSeconds(20));
            await store.Jobs.RenewLeaseAsync(jobId, "silo-1", s_lease);
        }

        Assert.Equal(new LeaseSweepResult(0, 0, 0), await store.Jobs.RequeueExpiredAsync());
        Assert.Null(await store.Jobs.ClaimAsync("silo-2", [], s_lease));
    }

    [Fact]
    public async Task Claim_prefers_resident_adapters_among_the_fair_candidates_only()
    {
        var store = await NewStoreAsync();
        await CreateTenantAsync(store, "solo");
        var x = await store.Jobs.SubmitAsync(Job("solo", 3, s_hashX));
        var y = await store.Jobs.SubmitAsync(Job("solo", 3, s_hashY, s_hashZ));
        var z = await store.Jobs.SubmitAsync(Job("solo", 3, s_hashZ));

        // Two of y's adapters are resident, one of z's: y wins although x is older.
        Assert.Equal(y, (await store.Jobs.ClaimAsync("silo-1", [s_hashY, s_hashZ], s_lease))?.JobId);
        // Nothing resident: plain FIFO.
        Assert.Equal(x, (await store.Jobs.ClaimAsync("silo-1", [], s_lease))?.JobId);
        Assert.Equal(z, (await store.Jobs.ClaimAsync("silo-1", [s_hashX], s_lease))?.JobId);

        // Across tenants, fairness comes first: once "b" has been served, "a" is owed the next claim
        // even though only "b" has a job whose adapter is resident.
        var other = await NewStoreAsync();
        await CreateTenantAsync(other, "a");
        await CreateTenantAsync(other, "b");
        var a1 = await other.Jobs.SubmitAsync(Job("a", 3, s_hashX));
        var b1 = await other.Jobs.SubmitAsync(Job("b", 3, s_hashY));
        var b2 = await other.Jobs.SubmitAsync(Job("b", 3, s_hashY));
        Assert.Equal(b1, (await other.Jobs.ClaimAsync("silo-1", [s_hashY], s_lease))?.JobId); // a and b tied: residency decides
        Assert.Equal(a1, (await other.Jobs.ClaimAsync("silo-1", [s_hashY], s_lease))?.JobId); // a is owed the turn
        Assert.Equal(b2, (await other.Jobs.ClaimAsync("silo-1", [s_hashY], s_lease))?.JobId);
    }

    [Fact]
    public async Task A_submission_naming_an_unknown_tenant_or_another_tenants_session_is_refused_and_stores_nothing()
    {
        var store = await NewStoreAsync();
        await CreateTenantAsync(store, "acme");
        await CreateTenantAsync(store, "rival");
        await store.Sessions.CreateAsync("rival", "theirs", "{}", "[]");
        await store.Sessions.CreateAsync("acme", "ours", "{}", "[]");

        var tenant = await Assert.ThrowsAsync<KeyNotFoundException>(() => store.Jobs.SubmitAsync(Job("nobody")));
        Assert.Contains("'nobody'", tenant.Message, StringComparison.Ordinal);
        var session = await Assert.ThrowsAsync<KeyNotFoundException>(() => store.Jobs.SubmitAsync(Job("acme") with { SessionId = "theirs" }));
        Assert.Contains("no session 'theirs'", session.Message, StringComparison.Ordinal);

        var accepted = await store.Jobs.SubmitAsync(Job("acme") with { SessionId = "ours" });
        Assert.Equal("ours", (await store.Jobs.GetAsync("acme", accepted))?.SessionId);
        // Only the accepted job was stored.
        Assert.Equal(accepted, (await store.Jobs.ClaimAsync("silo-1", [], s_lease))?.JobId);
        Assert.Null(await store.Jobs.ClaimAsync("silo-1", [], s_lease));
    }

    [Fact]
    public async Task Quotas_cap_queued_and_running_jobs_per_tenant()
    {
        var store = await NewStoreAsync();
        await CreateTenantAsync(store, "small", maxRunning: 1, maxQueued: 2);
        await CreateTenantAsync(store, "other");
        var s1 = await store.Jobs.SubmitAsync(Job("small"));
        var s2 = await store.Jobs.SubmitAsync(Job("small"));
        var refused = await Assert.ThrowsAsync<QuotaExceededException>(() => store.Jobs.SubmitAsync(Job("small")));
        Assert.Equal("maxQueuedJobs", refused.Quota);

        Assert.Equal(s1, (await store.Jobs.ClaimAsync("silo-1", [], s_lease))?.JobId);
        // s2 waits: "small" is at its running quota of 1.
        Assert.Null(await store.Jobs.ClaimAsync("silo-1", [], s_lease));
        var o1 = await store.Jobs.SubmitAsync(Job("other"));
        Assert.Equal(o1, (await store.Jobs.ClaimAsync("silo-1", [], s_lease))?.JobId);
        // Only one job of "small" is queued now, so a new one fits.
        await store.Jobs.SubmitAsync(Job("small"));

        await store.Jobs.CompleteAsync(s1, "silo-1", "/s1.png", s_sha);
        Assert.Equal(s2, (await store.Jobs.ClaimAsync("silo-1", [], s_lease))?.JobId);
    }

    [Fact]
    public async Task Quotas_hold_under_concurrent_submitters_and_claimers()
    {
        var options = await NewDatabaseAsync();
        var silos = new List<ClusterStore>();
        for (var i = 0; i < 3; i++)
        {
            silos.Add(await OpenAsync(options));
        }

        await CreateTenantAsync(silos[0], "capped", maxRunning: 2, maxQueued: 12);
        var outcomes = await Task.WhenAll(silos.SelectMany(silo => Enumerable.Repeat(silo, 10))
            .Select(silo => Task.Run(async () =>
            {
                try
                {
                    await silo.Jobs.SubmitAsync(Job("capped"));
                    return true;
                }
                catch (QuotaExceededException)
                {
                    return false;
                }
            })));
        Assert.Equal(12, outcomes.Count(accepted => accepted));

        var claims = await Task.WhenAll(silos.SelectMany((silo, index) => Enumerable.Range(0, 3).Select(_ => Task.Run(() =>
            silo.Jobs.ClaimAsync($"silo-{index}", [], s_lease)))));
        Assert.Equal(2, claims.Count(c => c is not null));
    }

    [Fact]
    public async Task Cancel_request_cancels_a_queued_job_at_once_and_a_running_one_through_its_owner()
    {
        var store = await NewStoreAsync();
        await CreateTenantAsync(store, "acme");
        await CreateTenantAsync(store, "intruder");
        var queued = await store.Jobs.SubmitAsync(Job("acme"));
        Assert.Null(await store.Jobs.RequestCancelAsync("intruder", queued));
        Assert.Equal(JobStatus.Cancelled, await store.Jobs.RequestCancelAsync("acme", queued));
        Assert.Null(await store.Jobs.ClaimAsync("silo-1", [], s_lease));

        var running = await store.Jobs.SubmitAsync(Job("acme"));
        await store.Jobs.ClaimAsync("silo-1", [], s_lease);
        Assert.Equal(JobStatus.Running, await store.Jobs.RequestCancelAsync("acme", running));
        Assert.True((await store.Jobs.RenewLeaseAsync(running, "silo-1", s_lease)).CancellationRequested);
        await store.Jobs.CancelAsync(running, "silo-1");
        Assert.Equal(JobStatus.Cancelled, (await store.Jobs.GetAsync("acme", running))?.Status);
        Assert.Equal(JobStatus.Cancelled, await store.Jobs.RequestCancelAsync("acme", running));

        // A cancel-requested job whose silo died is cancelled by the sweep, not re-queued.
        var orphan = await store.Jobs.SubmitAsync(Job("acme"));
        await store.Jobs.ClaimAsync("silo-1", [], s_lease);
        await store.Jobs.RequestCancelAsync("acme", orphan);
        Clock.Advance(s_lease + TimeSpan.FromSeconds(1));
        Assert.Equal(new LeaseSweepResult(0, 0, 1), await store.Jobs.RequeueExpiredAsync());
        Assert.Equal(JobStatus.Cancelled, (await store.Jobs.GetAsync("acme", orphan))?.Status);
    }

    [Fact]
    public async Task Released_job_goes_back_to_the_queue_with_its_checkpoint_and_without_spending_an_attempt()
    {
        var store = await NewStoreAsync();
        await CreateTenantAsync(store, "acme");
        var jobId = await store.Jobs.SubmitAsync(Job("acme", maxAttempts: 1));
        await store.Jobs.ClaimAsync("draining-silo", [], s_lease);
        await store.Jobs.SaveCheckpointAsync(jobId, "draining-silo", 12, "blobs/checkpoints/job.bin");
        await store.Jobs.ReleaseAsync(jobId, "draining-silo");

        var resumed = await store.Jobs.ClaimAsync("silo-2", [], s_lease);
        Assert.Equal(jobId, resumed?.JobId);
        Assert.Equal(1, resumed?.Attempt);
        Assert.Equal(new JobCheckpoint(12, null, "blobs/checkpoints/job.bin"), resumed?.Checkpoint);
        await Assert.ThrowsAsync<LeaseLostException>(() => store.Jobs.CompleteAsync(jobId, "draining-silo", "/x.png", s_sha));
    }

    [Fact]
    public async Task Tied_tenants_beyond_the_windows_read_ahead_are_each_served_once_in_order()
    {
        var store = await NewStoreAsync();
        // More tied tenants than one claim reads ahead: the later ones are reached through the next groups.
        var tenants = Enumerable.Range(1, 6).Select(i => $"t{i}").ToArray();
        var jobs = new Dictionary<Guid, string>();
        foreach (var tenant in tenants)
        {
            await CreateTenantAsync(store, tenant);
            jobs[await store.Jobs.SubmitAsync(Job(tenant))] = tenant;
        }

        var served = new List<string>();
        while (await store.Jobs.ClaimAsync("silo-1", [], s_lease) is { } job)
        {
            served.Add(jobs[job.JobId]);
        }

        Assert.Equal(tenants, served);
    }

    [Fact]
    public async Task Bad_submissions_are_refused_with_the_field_named_and_write_nothing()
    {
        var store = await NewStoreAsync();
        await CreateTenantAsync(store, "acme");
        var bad = await Assert.ThrowsAsync<ArgumentException>(() => store.Jobs.SubmitAsync(Job("acme") with { RequestJson = "{not json" }));
        Assert.Contains("request", bad.Message, StringComparison.Ordinal);
        bad = await Assert.ThrowsAsync<ArgumentException>(() => store.Jobs.SubmitAsync(Job("acme") with { RequestJson = "[1,2]" }));
        Assert.Contains("JSON object", bad.Message, StringComparison.Ordinal);
        bad = await Assert.ThrowsAsync<ArgumentException>(() => store.Jobs.SubmitAsync(Job("acme", 3, "not-a-hash")));
        Assert.Contains("adapterHashes", bad.Message, StringComparison.Ordinal);
        bad = await Assert.ThrowsAsync<ArgumentException>(() => store.Jobs.SubmitAsync(Job("acme", maxAttempts: 0)));
        Assert.Contains("maxAttempts", bad.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<KeyNotFoundException>(() => store.Jobs.SubmitAsync(Job("nobody")));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => store.Jobs.SubmitAsync(Job("acme") with { SessionId = "missing" }));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.Jobs.ClaimAsync("silo-1", [], TimeSpan.Zero));
        Assert.Null(await store.Jobs.ClaimAsync("silo-1", [], s_lease));
    }

    [Fact]
    public async Task A_lease_that_does_not_take_charges_the_tenant_nothing()
    {
        var store = await NewStoreAsync();
        await CreateTenantAsync(store, "acme");
        var job = await store.Jobs.SubmitAsync(Job("acme"));

        async Task<object?> ExecuteAsync(string sql)
        {
            await using var connection = await store.Database.OpenConnectionAsync(CancellationToken.None);
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            return await command.ExecuteScalarAsync();
        }

        // A trigger drops the lease's row update, as if the selected job had moved on: the broken invariant the claim
        // reports. Its transaction must not keep the tenant's fair-share charge.
        await ExecuteAsync(Target.Provider == ClusterDatabaseProvider.Sqlite
            ? "CREATE TRIGGER refuse_lease BEFORE UPDATE OF status ON jobs WHEN NEW.status = 'running' BEGIN SELECT RAISE(IGNORE); END"
            : """
              CREATE FUNCTION refuse_lease() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
              CREATE TRIGGER refuse_lease BEFORE UPDATE ON jobs FOR EACH ROW WHEN (NEW.status = 'running') EXECUTE FUNCTION refuse_lease()
              """);
        var passBefore = Convert.ToDouble(await ExecuteAsync("SELECT fair_pass FROM tenants WHERE id = 'acme'"));
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => store.Jobs.ClaimAsync("silo-1", [], s_lease));
        Assert.Contains("no longer queued", refused.Message, StringComparison.Ordinal);
        Assert.Equal(passBefore, Convert.ToDouble(await ExecuteAsync("SELECT fair_pass FROM tenants WHERE id = 'acme'")));
        Assert.Equal("queued", await ExecuteAsync($"SELECT status FROM jobs WHERE tenant_id = 'acme'"));

        // Without the trigger the same job is claimed and the tenant charged.
        await ExecuteAsync("DROP TRIGGER refuse_lease" + (Target.Provider == ClusterDatabaseProvider.Sqlite ? string.Empty : " ON jobs"));
        Assert.Equal(job, (await store.Jobs.ClaimAsync("silo-1", [], s_lease))?.JobId);
        Assert.True(Convert.ToDouble(await ExecuteAsync("SELECT fair_pass FROM tenants WHERE id = 'acme'")) > passBefore);
    }

    [Fact]
    public async Task An_idle_silo_takes_a_submission_in_its_own_transaction_only_when_a_claim_would()
    {
        var store = await NewStoreAsync();
        await CreateTenantAsync(store, "acme");
        await CreateTenantAsync(store, "beta");
        await CreateTenantAsync(store, "capped", maxRunning: 1);

        // Nothing waiting: the job is leased to the submitting silo at once, as its first attempt.
        var (taken, claimed) = await store.Jobs.SubmitAndClaimIfIdleAsync(Job("acme", maxAttempts: 2, s_hashX), "silo-1", s_lease);
        Assert.NotNull(claimed);
        Assert.Equal((taken, "acme", 1, 2, "silo-1", Clock.GetUtcNow() + s_lease, (JobCheckpoint?)null), (claimed.JobId, claimed.TenantId, claimed.Attempt, claimed.MaxAttempts, claimed.LeaseOwner, claimed.LeaseExpiresAt, claimed.Checkpoint));
        Assert.Equal([s_hashX], claimed.AdapterHashes);
        var record = await store.Jobs.GetAsync("acme", taken);
        Assert.Equal((JobStatus.Running, "silo-1", 1), (record?.Status, record?.LeaseOwner, record?.Attempts));
        Assert.Null(await store.Jobs.ClaimAsync("silo-2", [], s_lease));
        // Its lease works like a claimed one's.
        Assert.False((await store.Jobs.RenewLeaseAsync(taken, "silo-1", s_lease)).CancellationRequested);
        await store.Jobs.CompleteAsync(taken, "silo-1", "/images/taken.png", s_sha);

        // The tenant was charged as a claim charges it: with one queued job each, beta (not yet served) goes first,
        // where the tie of two fresh tenants would go to acme.
        var acmeNext = await store.Jobs.SubmitAsync(Job("acme"));
        var betaNext = await store.Jobs.SubmitAsync(Job("beta"));
        // Something is queued, so a submission is queued behind it, not taken.
        var (queuedBehind, notClaimed) = await store.Jobs.SubmitAndClaimIfIdleAsync(Job("beta"), "silo-1", s_lease);
        Assert.Null(notClaimed);
        Assert.Equal(JobStatus.Queued, (await store.Jobs.GetAsync("beta", queuedBehind))?.Status);
        Assert.Equal([betaNext, acmeNext, queuedBehind], [
            (await store.Jobs.ClaimAsync("silo-2", [], s_lease))!.JobId,
            (await store.Jobs.ClaimAsync("silo-2", [], s_lease))!.JobId,
            (await store.Jobs.ClaimAsync("silo-2", [], s_lease))!.JobId]);

        // A tenant at its running quota is not taken past it.
        var (cappedFirst, cappedClaim) = await store.Jobs.SubmitAndClaimIfIdleAsync(Job("capped"), "silo-1", s_lease);
        Assert.Equal(cappedFirst, cappedClaim?.JobId);
        var (cappedSecond, overQuota) = await store.Jobs.SubmitAndClaimIfIdleAsync(Job("capped"), "silo-3", s_lease);
        Assert.Null(overQuota);
        Assert.Null(await store.Jobs.ClaimAsync("silo-3", [], s_lease));

        // An expired lease is waiting too: the newcomer is queued, and the claims that follow re-queue and serve both.
        Clock.Advance(s_lease + TimeSpan.FromSeconds(1));
        var (newcomer, afterExpiry) = await store.Jobs.SubmitAndClaimIfIdleAsync(Job("acme"), "silo-4", s_lease);
        Assert.Null(afterExpiry);
        Assert.Equal(JobStatus.Queued, (await store.Jobs.GetAsync("acme", newcomer))?.Status);
        Assert.Equal(JobStatus.Running, (await store.Jobs.GetAsync("capped", cappedFirst))?.Status);
        var resumed = new List<Guid>();
        while (await store.Jobs.ClaimAsync("silo-4", [], s_lease) is { } next)
        {
            resumed.Add(next.JobId);
        }

        Assert.Contains(cappedFirst, resumed);
        Assert.Contains(newcomer, resumed);
        Assert.DoesNotContain(cappedSecond, resumed);

        // Bad arguments are refused before anything is written.
        await Assert.ThrowsAsync<ArgumentException>(() => store.Jobs.SubmitAndClaimIfIdleAsync(Job("acme"), "not a silo id!", s_lease));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.Jobs.SubmitAndClaimIfIdleAsync(Job("acme"), "silo-1", TimeSpan.Zero));
        Assert.Null(await store.Jobs.ClaimAsync("silo-5", [], s_lease));
    }
}

/// <summary>The job queue on SQLite.</summary>
public sealed class SqliteJobQueueTests(ITestOutputHelper output) : JobQueueTests(new SqliteTarget(), output);

/// <summary>The job queue on PostgreSQL.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresJobQueueTests(PostgresServer server, ITestOutputHelper output) : JobQueueTests(new PostgresTarget(server), output)
{
    [Fact]
    public async Task A_claim_passes_over_a_job_another_transaction_holds_and_takes_it_once_it_is_free()
    {
        var options = await NewDatabaseAsync();
        var store = await OpenAsync(options);
        await CreateTenantAsync(store, "alpha");
        await CreateTenantAsync(store, "beta");
        var held = await store.Jobs.SubmitAsync(Job("alpha"));
        var free = await store.Jobs.SubmitAsync(Job("beta"));

        // Another transaction (a tenant's cancel, say) holds alpha's only job: the window read ahead for alpha comes back
        // empty, the claim reads alpha's window again, finds it still held and serves beta, who is as entitled.
        await using var other = new Npgsql.NpgsqlConnection(options.ConnectionString);
        await other.OpenAsync();
        await using var hold = await other.BeginTransactionAsync();
        await using (var command = new Npgsql.NpgsqlCommand("SELECT id FROM jobs WHERE id = @id FOR UPDATE", other, hold))
        {
            command.Parameters.AddWithValue("id", held);
            Assert.Equal(held, await command.ExecuteScalarAsync());
        }

        Assert.Equal(free, (await store.Jobs.ClaimAsync("silo-1", [], s_lease))?.JobId);
        Assert.Null(await store.Jobs.ClaimAsync("silo-1", [], s_lease));
        await hold.RollbackAsync();
        Assert.Equal(held, (await store.Jobs.ClaimAsync("silo-1", [], s_lease))?.JobId);
    }

    [Fact]
    public async Task A_claim_whose_read_ahead_windows_are_all_held_reaches_the_next_tenant_in_service_order()
    {
        var options = await NewDatabaseAsync();
        var store = await OpenAsync(options);
        var jobs = new Dictionary<string, Guid>();
        foreach (var tenant in new[] { "t1", "t2", "t3", "t4", "t5" })
        {
            await CreateTenantAsync(store, tenant);
            jobs[tenant] = await store.Jobs.SubmitAsync(Job(tenant));
        }

        // Service order t1..t5 (passes 1..5); the claim reads ahead the windows of the first four, whose jobs another
        // transaction holds (a tenant's cancel, say), so t5's window is read on its own.
        await using var other = new Npgsql.NpgsqlConnection(options.ConnectionString);
        await other.OpenAsync();
        await using (var passes = new Npgsql.NpgsqlCommand("UPDATE tenants SET fair_pass = CAST(substr(id, 2) AS double precision)", other))
        {
            Assert.Equal(5, await passes.ExecuteNonQueryAsync());
        }

        await using var hold = await other.BeginTransactionAsync();
        await using (var command = new Npgsql.NpgsqlCommand("SELECT COUNT(*) FROM (SELECT id FROM jobs WHERE tenant_id <> 't5' FOR UPDATE) held", other, hold))
        {
            Assert.Equal(4L, await command.ExecuteScalarAsync());
        }

        Assert.Equal(jobs["t5"], (await store.Jobs.ClaimAsync("silo-1", [], s_lease))?.JobId);
        await hold.RollbackAsync();
        Assert.Equal(jobs["t1"], (await store.Jobs.ClaimAsync("silo-1", [], s_lease))?.JobId);
    }
}
