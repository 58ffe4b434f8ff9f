using System.Data.Common;
using LoraGrains.Cluster.Storage;

namespace LoraGrains.Cluster.Queue;

/// <summary>
/// The durable job queue. A job is acknowledged only after its row is committed; silos claim jobs under a
/// lease they must renew; every change a silo makes to a running job is guarded by
/// <c>lease_owner = @owner AND status = 'running'</c> in the same <c>UPDATE</c>, so a silo that lost its lease
/// changes nothing and a job reaches a final state at most once.
/// <para>
/// Claims are fair across tenants (see <see cref="FairShare"/>) and honour each tenant's running-jobs quota.
/// Because fairness is a decision over all tenants, claims take one cluster-wide advisory lock for the
/// length of their (short) transaction on PostgreSQL — SQLite's <c>BEGIN IMMEDIATE</c> is the same thing —
/// and read job rows with <c>FOR UPDATE SKIP LOCKED</c>, so a row another transaction is changing (a tenant
/// cancelling it, a sweep) is passed over rather than waited for. One claim costs a handful of indexed
/// statements, so the lock admits hundreds of claims a second: far above what GPUs that spend seconds per
/// image can ask for.
/// </para>
/// <para>
/// A silo whose worker is idle may take a job as it accepts it (<see cref="SubmitAndClaimIfIdleAsync"/>): under the
/// same claim lock, and only when a claim would choose that job, so neither fairness nor the queue's order changes.
/// </para>
/// <para>
/// A lease that has expired but has not yet been taken back by a sweep is still honoured: until the sweep
/// re-queues the job no other silo can hold it, and the sweep and the owner's write are serialised on the row,
/// so whichever comes first wins and the other changes nothing.
/// </para>
/// </summary>
public sealed class JobQueue
{
    /// <summary>Largest accepted request document, in characters.</summary>
    public const int MaxRequestChars = 256 * 1024;

    /// <summary>Most adapters one job may compose.</summary>
    public const int MaxAdaptersPerJob = 64;

    /// <summary>Most claims a job may be given.</summary>
    public const int MaxAttemptsLimit = 100;

    /// <summary>Largest checkpoint stored in the database; bigger state belongs in blob storage (pass a path).</summary>
    public const int MaxCheckpointBytes = 64 * 1024 * 1024;

    /// <summary>Shortest accepted lease.</summary>
    public static readonly TimeSpan MinLease = TimeSpan.FromSeconds(1);

    /// <summary>Longest accepted lease.</summary>
    public static readonly TimeSpan MaxLease = TimeSpan.FromHours(1);

    /// <summary>
    /// How many of a fair tenant's oldest queued jobs the residency preference may choose among: enough to find
    /// a job that reuses loaded adapters, few enough that no job waits behind many younger ones.
    /// </summary>
    internal const int ResidencyWindow = 16;

    internal const string ClaimLockName = "loragrains.cluster.claim";

    private const string SubmitLockPrefix = "loragrains.cluster.submit:";

    private const string RecordColumns = """
        id, tenant_id, session_id, status, attempts, max_attempts, lease_owner, lease_expires_at, cancel_requested,
        checkpoint_step, result_path, result_sha256, error, created_at, started_at, updated_at, finished_at
        """;

    private const string ClaimedColumns = """
        id, tenant_id, session_id, request, adapter_hashes, attempts, max_attempts, lease_expires_at,
        checkpoint_step, checkpoint_data, checkpoint_path, created_at
        """;

    private readonly IClusterDatabase _database;
    private readonly TimeProvider _clock;
    private readonly string _windowSql;
    private readonly string _nextWindowsSql;
    private readonly bool _locksByStatement;

    internal JobQueue(IClusterDatabase database, TimeProvider clock)
    {
        _database = database;
        _clock = clock;
        _windowSql = WindowSql("@tenant", database.ForUpdateSkipLocked);
        _nextWindowsSql = NextWindowsSql(database.ForUpdateSkipLocked);
        _locksByStatement = database.LockStatement("lock").Length > 0;
    }

    /// <summary>
    /// Writes a job in state queued and returns its id once the write is committed. Refused, with nothing
    /// written, when the tenant already has its <see cref="Tenancy.Tenant.MaxQueuedJobs"/> queued.
    /// </summary>
    /// <param name="submission">The job.</param>
    /// <param name="cancellationToken">Cancels the submission (nothing is written unless it completes).</param>
    /// <exception cref="QuotaExceededException">The tenant's queued-jobs quota is full.</exception>
    /// <exception cref="KeyNotFoundException">The tenant or session does not exist.</exception>
    public async Task<Guid> SubmitAsync(JobSubmission submission, CancellationToken cancellationToken = default) =>
        (await SubmitAsync(submission, taker: null, cancellationToken).ConfigureAwait(false)).JobId;

    /// <summary>
    /// Submits a job as <see cref="SubmitAsync(JobSubmission, CancellationToken)"/> does, and leases it to
    /// <paramref name="siloId"/> in the same transaction when that is what a claim would do now: nothing is waiting
    /// (no queued job, no expired lease) and the tenant is under its running-jobs quota. The tenant's fair share is
    /// charged as a claim charges it, and nothing is announced (no other silo has anything to claim). Otherwise the
    /// job is queued and announced as usual, and <c>Claimed</c> is <see langword="null"/>.
    /// </summary>
    /// <param name="submission">The job.</param>
    /// <param name="siloId">The idle silo taking the job; becomes the lease owner.</param>
    /// <param name="leaseDuration">How long the lease lasts unless renewed.</param>
    /// <param name="cancellationToken">Cancels the submission (nothing is written unless it completes).</param>
    /// <exception cref="QuotaExceededException">The tenant's queued-jobs quota is full.</exception>
    /// <exception cref="KeyNotFoundException">The tenant or session does not exist.</exception>
    public Task<(Guid JobId, ClaimedJob? Claimed)> SubmitAndClaimIfIdleAsync(
        JobSubmission submission, string siloId, TimeSpan leaseDuration, CancellationToken cancellationToken = default)
    {
        StorageKeys.Id(siloId, nameof(siloId));
        ValidateLease(leaseDuration);
        return SubmitAsync(submission, (siloId, leaseDuration), cancellationToken);
    }

    private async Task<(Guid JobId, ClaimedJob? Claimed)> SubmitAsync(
        JobSubmission submission, (string SiloId, TimeSpan Lease)? taker, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(submission);
        StorageKeys.TenantId(submission.TenantId, "tenantId");
        if (submission.SessionId is not null)
        {
            StorageKeys.Id(submission.SessionId, "sessionId");
        }

        JsonInput.Object(submission.RequestJson, "request", MaxRequestChars);
        ArgumentNullException.ThrowIfNull(submission.AdapterHashes);
        if (submission.AdapterHashes.Count > MaxAdaptersPerJob)
        {
            throw new ArgumentException($"adapterHashes may list at most {MaxAdaptersPerJob} adapters (got {submission.AdapterHashes.Count}).", nameof(submission));
        }

        foreach (var hash in submission.AdapterHashes)
        {
            StorageKeys.ContentHash(hash, "adapterHashes");
        }

        if (submission.MaxAttempts is < 1 or > MaxAttemptsLimit)
        {
            throw new ArgumentException($"maxAttempts must be between 1 and {MaxAttemptsLimit} (got {submission.MaxAttempts}).", nameof(submission));
        }

        var now = _clock.GetUtcNow();
        var nowMs = now.ToUnixTimeMilliseconds();
        var jobId = Guid.CreateVersion7(now);
        await using var connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await _database.BeginWriteAsync(connection, lockName: null, cancellationToken).ConfigureAwait(false);
        // One round trip for the tenant's lock (concurrent submissions of one tenant must not both see room under the
        // quota) and every check; the statements run in order, so the counts are read under the lock. A submission that
        // may be taken at once also takes the claim lock (after the tenant's, as no claim holds the claim lock and then
        // waits for a tenant's) and reads what a claim would decide on.
        const string Checks = """
            SELECT max_queued_jobs FROM tenants WHERE id = @tenant;
            SELECT COUNT(*) FROM sessions WHERE tenant_id = @tenant AND id = @session;
            SELECT COUNT(*) FROM jobs WHERE tenant_id = @tenant AND status = 'queued'
            """;
        const string ClaimChecks = """
            SELECT t.weight, t.max_running_jobs, t.fair_pass, (SELECT MAX(v.fair_start) FROM tenants v),
                   (SELECT COUNT(*) FROM jobs r WHERE r.tenant_id = t.id AND r.status = 'running'),
                   CASE WHEN EXISTS (SELECT 1 FROM jobs q WHERE q.status = 'queued')
                          OR EXISTS (SELECT 1 FROM jobs e WHERE e.status = 'running' AND e.lease_expires_at < @now) THEN 1 ELSE 0 END
            FROM tenants t WHERE t.id = @tenant
            """;
        string[] locks = taker is null ? [SubmitLockPrefix + submission.TenantId] : [SubmitLockPrefix + submission.TenantId, ClaimLockName];
        int? maxQueued;
        long sessions, queued;
        (int Weight, double Pass, double VirtualTime)? share = null;
        await using (var checks = CreateLockedCommand(connection, transaction, taker is null ? Checks : Checks + ";\n" + ClaimChecks, locks))
        {
            checks.AddParameter("tenant", submission.TenantId).AddParameter("session", submission.SessionId ?? string.Empty).AddParameter("now", nowMs);
            await using var reader = await ExecuteLockedReaderAsync(checks, locks.Length, cancellationToken).ConfigureAwait(false);
            maxQueued = await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? reader.GetInt32(0) : null;
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            sessions = await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? reader.GetInt64(0) : 0;
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            queued = await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? reader.GetInt64(0) : 0;
            if (taker is not null
                && await reader.NextResultAsync(cancellationToken).ConfigureAwait(false)
                && await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
                && reader.GetInt64(4) < reader.GetInt32(1)
                && reader.GetInt32(5) == 0)
            {
                share = (reader.GetInt32(0), reader.GetDouble(2), reader.GetDouble(3));
            }
        }

        if (maxQueued is null)
        {
            throw new KeyNotFoundException($"Tenant '{submission.TenantId}' does not exist.");
        }

        if (submission.SessionId is not null && sessions == 0)
        {
            throw new KeyNotFoundException($"Tenant '{submission.TenantId}' has no session '{submission.SessionId}'.");
        }

        if (queued >= maxQueued)
        {
            throw new QuotaExceededException(submission.TenantId, "maxQueuedJobs", maxQueued.Value);
        }

        if (taker is { } silo && share is { } served)
        {
            var charge = FairShare.Charge(FairShare.EffectivePass(served.Pass, served.VirtualTime), served.Weight);
            var expires = nowMs + (long)silo.Lease.TotalMilliseconds;
            // The lease, the charge and the commit in one round trip; no wake-up, as there is nothing for anyone to claim.
            await using (var insert = connection.CreateCommand(transaction, WithCommit("""
                INSERT INTO jobs (id, tenant_id, session_id, request, adapter_hashes, status, attempts, max_attempts,
                                  lease_owner, lease_expires_at, created_at, started_at, updated_at)
                VALUES (@id, @tenant, @session, @request, @adapters, 'running', 1, @max_attempts, @owner, @expires, @now, @now, @now);
                UPDATE tenants SET fair_start = @start, fair_pass = @pass WHERE id = @tenant
                """)))
            {
                AddSubmission(insert, jobId, submission, nowMs);
                insert.AddParameter("owner", silo.SiloId).AddParameter("expires", expires).AddParameter("start", charge.Start).AddParameter("pass", charge.Pass);
                await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await CommitUnlessCommittedAsync(transaction, cancellationToken).ConfigureAwait(false);
            return (jobId, new ClaimedJob(
                jobId, submission.TenantId, submission.SessionId, submission.RequestJson, [.. submission.AdapterHashes], 1, submission.MaxAttempts,
                silo.SiloId, DateTimeOffset.FromUnixTimeMilliseconds(expires), null, DateTimeOffset.FromUnixTimeMilliseconds(nowMs)));
        }

        // The wake-up and the commit ride in the same round trip as the insert; the wake-up is delivered at the commit.
        await using (var insert = connection.CreateCommand(transaction, WithCommit(WithJobsReady("""
            INSERT INTO jobs (id, tenant_id, session_id, request, adapter_hashes, status, attempts, max_attempts, created_at, updated_at)
            VALUES (@id, @tenant, @session, @request, @adapters, 'queued', 0, @max_attempts, @now, @now)
            """))))
        {
            AddSubmission(insert, jobId, submission, nowMs);
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await CommitUnlessCommittedAsync(transaction, cancellationToken).ConfigureAwait(false);
        return (jobId, null);
    }

    private void AddSubmission(DbCommand insert, Guid jobId, JobSubmission submission, long now)
    {
        insert.AddParameter("id", jobId).AddParameter("tenant", submission.TenantId).AddParameter("session", submission.SessionId)
            .AddParameter("max_attempts", submission.MaxAttempts).AddParameter("now", now);
        _database.AddJsonParameter(insert, "request", submission.RequestJson);
        _database.AddJsonParameter(insert, "adapters", JsonInput.StringArray(submission.AdapterHashes));
    }

    /// <summary>
    /// Claims the next job for <paramref name="siloId"/>: re-queues expired leases, picks the tenant that is
    /// owed the next claim (and is under its running-jobs quota), prefers among its oldest jobs one whose adapters
    /// are resident on this silo, and leases it. Returns <see langword="null"/> when nothing is claimable.
    /// </summary>
    /// <param name="siloId">The claiming silo; becomes the lease owner.</param>
    /// <param name="residentAdapterHashes">Adapters resident on this silo's devices.</param>
    /// <param name="leaseDuration">How long the lease lasts unless renewed.</param>
    /// <param name="cancellationToken">Cancels the claim (nothing is claimed unless it completes).</param>
    public async Task<ClaimedJob?> ClaimAsync(
        string siloId, IReadOnlyCollection<string> residentAdapterHashes, TimeSpan leaseDuration, CancellationToken cancellationToken = default)
    {
        StorageKeys.Id(siloId, nameof(siloId));
        ArgumentNullException.ThrowIfNull(residentAdapterHashes);
        ValidateLease(leaseDuration);
        var resident = residentAdapterHashes as IReadOnlySet<string> ?? new HashSet<string>(residentAdapterHashes, StringComparer.Ordinal);

        await using var connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        // The claim lock is taken by the transaction's first command, in the same round trip as the sweep and the shares.
        await using var transaction = await _database.BeginWriteAsync(connection, lockName: null, cancellationToken).ConfigureAwait(false);
        var now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
        // Re-queued jobs are announced even when this claim takes one of them: there may be more than one, and
        // only this transaction knows they exist.
        LeaseSweepResult swept;
        List<FairShare.TenantShare> tenants;
        double virtualTime;
        Dictionary<string, List<FairShare.Candidate>> windows;
        // One round trip for the sweep, the shares (which see what the sweep re-queued) and the windows of the tenants
        // next in service order, so that the usual claim needs one more (lease and commit) and no others.
        await using (var command = CreateLockedCommand(connection, transaction, SweepSql + ";\n" + SharesSql + ";\n" + _nextWindowsSql, ClaimLockName))
        {
            command.AddParameter("now", now).AddParameter("flag", true);
            await using var reader = await ExecuteLockedReaderAsync(command, 1, cancellationToken).ConfigureAwait(false);
            swept = await ReadSweepAsync(reader, cancellationToken).ConfigureAwait(false);
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            (tenants, virtualTime) = await ReadSharesAsync(reader, cancellationToken).ConfigureAwait(false);
            windows = await ReadNextWindowsAsync(reader, cancellationToken).ConfigureAwait(false);
        }

        var announce = swept.Requeued > 0;
        foreach (var group in FairShare.ServiceOrder(tenants, virtualTime))
        {
            var candidates = new List<FairShare.Candidate>();
            foreach (var tenant in group)
            {
                // A window that was not read ahead (a tenant whose rows were all locked, or the rare tie that SQL and
                // FairShare order differently) costs a round trip of its own.
                if (windows.TryGetValue(tenant.TenantId, out var window))
                {
                    candidates.AddRange(window);
                }
                else
                {
                    await ReadWindowAsync(connection, transaction, tenant.TenantId, candidates, cancellationToken).ConfigureAwait(false);
                }
            }

            if (candidates.Count == 0)
            {
                continue;
            }

            var chosen = FairShare.PreferResident(candidates, resident);
            var served = group.First(t => t.TenantId == chosen.TenantId);
            var charge = FairShare.Charge(FairShare.EffectivePass(served.Pass, virtualTime), served.Weight);
            var claimed = await MarkRunningAsync(
                connection, transaction, chosen.JobId, siloId, now, now + (long)leaseDuration.TotalMilliseconds, (served.TenantId, charge.Start, charge.Pass), announce, cancellationToken).ConfigureAwait(false);
            await CommitUnlessCommittedAsync(transaction, cancellationToken).ConfigureAwait(false);
            return claimed;
        }

        // Nothing to claim, but keep what the sweep did.
        await AnnounceRequeuedAsync(connection, transaction, swept, cancellationToken).ConfigureAwait(false);

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return null;
    }

    /// <summary>Extends the lease; tells the owner if its tenant asked to cancel the job.</summary>
    /// <param name="jobId">The job.</param>
    /// <param name="owner">The lease owner.</param>
    /// <param name="leaseDuration">New lease length from now.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <exception cref="LeaseLostException">The caller no longer holds the lease: stop working on the job.</exception>
    public async Task<LeaseRenewal> RenewLeaseAsync(Guid jobId, string owner, TimeSpan leaseDuration, CancellationToken cancellationToken = default)
    {
        StorageKeys.Id(owner, nameof(owner));
        ValidateLease(leaseDuration);
        var now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
        var expires = now + (long)leaseDuration.TotalMilliseconds;
        await using var connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (var command = connection.CreateCommand(null, """
            UPDATE jobs SET lease_expires_at = @expires, updated_at = @now
            WHERE id = @id AND lease_owner = @owner AND status = 'running'
            RETURNING cancel_requested
            """))
        {
            command.AddParameter("id", jobId).AddParameter("owner", owner).AddParameter("expires", expires).AddParameter("now", now);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return new LeaseRenewal(DateTimeOffset.FromUnixTimeMilliseconds(expires), reader.GetBoolean(0));
            }
        }

        throw await LeaseLostAsync(connection, jobId, owner, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Records progress so that a later claim resumes from it; the state is stored in the database.</summary>
    /// <param name="jobId">The job.</param>
    /// <param name="owner">The lease owner.</param>
    /// <param name="step">Denoising steps completed.</param>
    /// <param name="state">Serialised state, at most <see cref="MaxCheckpointBytes"/>.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <exception cref="LeaseLostException">The caller no longer holds the lease.</exception>
    public Task SaveCheckpointAsync(Guid jobId, string owner, int step, ReadOnlyMemory<byte> state, CancellationToken cancellationToken = default)
    {
        if (state.Length > MaxCheckpointBytes)
        {
            throw new ArgumentException($"A checkpoint stored in the database may be at most {MaxCheckpointBytes} bytes (got {state.Length}); store it as a blob and pass its path.", nameof(state));
        }

        return WriteCheckpointAsync(jobId, owner, new JobCheckpoint(step, state.ToArray(), null), cancellationToken);
    }

    /// <summary>Records progress whose state lives in blob storage at <paramref name="blobPath"/>.</summary>
    /// <param name="jobId">The job.</param>
    /// <param name="owner">The lease owner.</param>
    /// <param name="step">Denoising steps completed.</param>
    /// <param name="blobPath">Where the state was written.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <exception cref="LeaseLostException">The caller no longer holds the lease.</exception>
    public Task SaveCheckpointAsync(Guid jobId, string owner, int step, string blobPath, CancellationToken cancellationToken = default) =>
        WriteCheckpointAsync(jobId, owner, new JobCheckpoint(step, null, StorageKeys.Text(blobPath, nameof(blobPath), 4096)), cancellationToken);

    /// <summary>Marks the job succeeded with its result image. Happens at most once per job.</summary>
    /// <param name="jobId">The job.</param>
    /// <param name="owner">The lease owner.</param>
    /// <param name="resultPath">Where the image was written.</param>
    /// <param name="resultSha256">SHA-256 of the image, 64 lowercase hex digits.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <exception cref="LeaseLostException">The caller no longer holds the lease (or the job already finished).</exception>
    public Task CompleteAsync(Guid jobId, string owner, string resultPath, string resultSha256, CancellationToken cancellationToken = default)
    {
        StorageKeys.Text(resultPath, nameof(resultPath), 4096);
        StorageKeys.ContentHash(resultSha256, nameof(resultSha256));
        // The checkpoint is dropped: the job will never be resumed, and its state may be large.
        return GuardedUpdateAsync(jobId, owner, WithSlotFreed("""
            UPDATE jobs SET status = 'succeeded', result_path = @result_path, result_sha256 = @result_sha256,
                lease_expires_at = NULL, checkpoint_data = NULL, finished_at = @now, updated_at = @now
            WHERE id = @id AND lease_owner = @owner AND status = 'running'
            """), command => command.AddParameter("result_path", resultPath).AddParameter("result_sha256", resultSha256), cancellationToken);
    }

    /// <summary>Marks the job failed for good (the request cannot succeed; retrying would not help).</summary>
    /// <param name="jobId">The job.</param>
    /// <param name="owner">The lease owner.</param>
    /// <param name="error">Why, for the tenant (cut to 4000 characters).</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <exception cref="LeaseLostException">The caller no longer holds the lease.</exception>
    public Task FailAsync(Guid jobId, string owner, string error, CancellationToken cancellationToken = default) =>
        GuardedUpdateAsync(jobId, owner, WithSlotFreed("""
            UPDATE jobs SET status = 'failed', error = @error, lease_expires_at = NULL, checkpoint_data = NULL,
                finished_at = @now, updated_at = @now
            WHERE id = @id AND lease_owner = @owner AND status = 'running'
            """), command => command.AddParameter("error", Truncate(error)), cancellationToken);

    /// <summary>Marks a running job cancelled (after its tenant asked; see <see cref="LeaseRenewal.CancellationRequested"/>).</summary>
    /// <param name="jobId">The job.</param>
    /// <param name="owner">The lease owner.</param>
    /// <param name="reason">Recorded as the job's error.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <exception cref="LeaseLostException">The caller no longer holds the lease.</exception>
    public Task CancelAsync(Guid jobId, string owner, string reason = "cancelled by the tenant", CancellationToken cancellationToken = default) =>
        GuardedUpdateAsync(jobId, owner, WithSlotFreed("""
            UPDATE jobs SET status = 'cancelled', error = @error, lease_expires_at = NULL, checkpoint_data = NULL,
                finished_at = @now, updated_at = @now
            WHERE id = @id AND lease_owner = @owner AND status = 'running'
            """), command => command.AddParameter("error", Truncate(reason)), cancellationToken);

    /// <summary>
    /// Gives the job back to the queue, keeping its checkpoint, without spending an attempt: what a draining
    /// silo does with work it will not finish, so another silo resumes it at once instead of after the lease expires.
    /// </summary>
    /// <param name="jobId">The job.</param>
    /// <param name="owner">The lease owner.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <exception cref="LeaseLostException">The caller no longer holds the lease.</exception>
    public Task ReleaseAsync(Guid jobId, string owner, CancellationToken cancellationToken = default) =>
        GuardedUpdateAsync(jobId, owner, WithJobsReady("""
            UPDATE jobs SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, attempts = attempts - 1, updated_at = @now
            WHERE id = @id AND lease_owner = @owner AND status = 'running'
            """), static _ => { }, cancellationToken);

    /// <summary>
    /// Asks to cancel a tenant's job: a queued job is cancelled at once; a running one is flagged, and its silo
    /// learns it at its next lease renewal. Returns the job's status afterwards, or <see langword="null"/> if
    /// the tenant has no such job.
    /// </summary>
    /// <param name="tenantId">The tenant (a tenant can cancel only its own jobs).</param>
    /// <param name="jobId">The job.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    public async Task<JobStatus?> RequestCancelAsync(string tenantId, Guid jobId, CancellationToken cancellationToken = default)
    {
        StorageKeys.TenantId(tenantId);
        var now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
        await using var connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (var queued = connection.CreateCommand(null, """
            UPDATE jobs SET status = 'cancelled', error = 'cancelled by the tenant', finished_at = @now, updated_at = @now
            WHERE id = @id AND tenant_id = @tenant AND status = 'queued'
            """))
        {
            queued.AddParameter("id", jobId).AddParameter("tenant", tenantId).AddParameter("now", now);
            if (await queued.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1)
            {
                return JobStatus.Cancelled;
            }
        }

        // Not queued (any more): if it is running, flag it for its owner.
        await using (var running = connection.CreateCommand(null, """
            UPDATE jobs SET cancel_requested = @flag, updated_at = @now
            WHERE id = @id AND tenant_id = @tenant AND status = 'running'
            """))
        {
            running.AddParameter("id", jobId).AddParameter("tenant", tenantId).AddParameter("flag", true).AddParameter("now", now);
            if (await running.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1)
            {
                return JobStatus.Running;
            }
        }

        return (await GetAsync(tenantId, jobId, cancellationToken).ConfigureAwait(false))?.Status;
    }

    /// <summary>Reads a tenant's job, or <see langword="null"/> if the tenant has no such job.</summary>
    /// <param name="tenantId">The tenant (a tenant sees only its own jobs).</param>
    /// <param name="jobId">The job.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public async Task<JobRecord?> GetAsync(string tenantId, Guid jobId, CancellationToken cancellationToken = default)
    {
        StorageKeys.TenantId(tenantId);
        await using var connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand(null, $"SELECT {RecordColumns} FROM jobs WHERE id = @id AND tenant_id = @tenant");
        command.AddParameter("id", jobId).AddParameter("tenant", tenantId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        static DateTimeOffset? Time(DbDataReader r, int i) => r.GetNullableInt64(i) is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;
        return new JobRecord(
            reader.GetGuid(0),
            reader.GetString(1),
            reader.GetNullableString(2),
            JobStatusColumn.Parse(reader.GetString(3)),
            reader.GetInt32(4),
            reader.GetInt32(5),
            reader.GetNullableString(6),
            Time(reader, 7),
            reader.GetBoolean(8),
            reader.GetNullableInt32(9),
            reader.GetNullableString(10),
            reader.GetNullableString(11),
            reader.GetNullableString(12),
            DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(13)),
            Time(reader, 14),
            DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(15)),
            Time(reader, 16));
    }

    /// <summary>The most recent jobs of a tenant's session, newest first (the session's history).</summary>
    /// <param name="tenantId">The tenant.</param>
    /// <param name="sessionId">Its session.</param>
    /// <param name="limit">At most this many (1-1000).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public async Task<IReadOnlyList<JobRecord>> ListBySessionAsync(string tenantId, string sessionId, int limit, CancellationToken cancellationToken = default)
    {
        StorageKeys.TenantId(tenantId);
        StorageKeys.Id(sessionId, nameof(sessionId));
        if (limit is < 1 or > 1000)
        {
            throw new ArgumentException($"limit must be between 1 and 1000 (got {limit}).", nameof(limit));
        }

        var ids = new List<Guid>();
        await using (var connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false))
        {
            await using var command = connection.CreateCommand(null,
                "SELECT id FROM jobs WHERE tenant_id = @tenant AND session_id = @session ORDER BY created_at DESC, id DESC LIMIT @limit");
            command.AddParameter("tenant", tenantId).AddParameter("session", sessionId).AddParameter("limit", limit);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                ids.Add(reader.GetGuid(0));
            }
        }

        var records = new List<JobRecord>(ids.Count);
        foreach (var id in ids)
        {
            if (await GetAsync(tenantId, id, cancellationToken).ConfigureAwait(false) is { } record)
            {
                records.Add(record);
            }
        }

        return records;
    }

    /// <summary>Reads the request document of a tenant's job, or <see langword="null"/> if the tenant has no such job.</summary>
    /// <param name="tenantId">The tenant (a tenant sees only its own jobs).</param>
    /// <param name="jobId">The job.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public async Task<string?> GetRequestAsync(string tenantId, Guid jobId, CancellationToken cancellationToken = default)
    {
        StorageKeys.TenantId(tenantId);
        await using var connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand(null, "SELECT request FROM jobs WHERE id = @id AND tenant_id = @tenant");
        command.AddParameter("id", jobId).AddParameter("tenant", tenantId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? reader.GetString(0) : null;
    }

    /// <summary>
    /// Takes back jobs whose lease expired: re-queued (keeping their checkpoint) while they have attempts left,
    /// failed with "lease expired N times" when they have none, cancelled if their tenant asked. Every claim
    /// runs this first; call it on a timer too so that expired jobs are accounted for when nobody claims.
    /// </summary>
    /// <param name="cancellationToken">Cancels the sweep (which then changes nothing).</param>
    public async Task<LeaseSweepResult> RequeueExpiredAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        // The claim lock, because every claim sweeps too: two sweeps locking the same expired rows in different
        // orders could deadlock; serialised, they cannot, and the second finds nothing left to do.
        await using var transaction = await _database.BeginWriteAsync(connection, ClaimLockName, cancellationToken).ConfigureAwait(false);
        var result = await SweepAsync(connection, transaction, _clock.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken).ConfigureAwait(false);
        await AnnounceRequeuedAsync(connection, transaction, result, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }

    private static async Task<LeaseSweepResult> SweepAsync(DbConnection connection, DbTransaction transaction, long now, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand(transaction, SweepSql);
        command.AddParameter("now", now).AddParameter("flag", true);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await ReadSweepAsync(reader, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<LeaseSweepResult> ReadSweepAsync(DbDataReader reader, CancellationToken cancellationToken)
    {
        int requeued = 0, failed = 0, cancelled = 0;
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            switch (reader.GetString(0))
            {
                case JobStatusColumn.Queued: requeued++; break;
                case JobStatusColumn.Failed: failed++; break;
                default: cancelled++; break;
            }
        }

        return new LeaseSweepResult(requeued, failed, cancelled);
    }

    // One statement (parameters @now, @flag): each expired job is cancelled if its tenant asked, failed if it has used
    // its attempts, and otherwise re-queued (keeping its checkpoint). SET expressions all read the row as it was, so
    // the three outcomes are decided on the same values.
    private const string SweepSql = """
            UPDATE jobs SET
                status = CASE WHEN cancel_requested = @flag THEN 'cancelled'
                              WHEN attempts >= max_attempts THEN 'failed'
                              ELSE 'queued' END,
                error = CASE WHEN cancel_requested = @flag THEN 'cancelled by the tenant'
                             WHEN attempts >= max_attempts THEN 'lease expired ' || attempts || ' times'
                             ELSE error END,
                lease_owner = CASE WHEN cancel_requested = @flag OR attempts >= max_attempts THEN lease_owner ELSE NULL END,
                checkpoint_data = CASE WHEN cancel_requested = @flag OR attempts >= max_attempts THEN NULL ELSE checkpoint_data END,
                finished_at = CASE WHEN cancel_requested = @flag OR attempts >= max_attempts THEN @now ELSE NULL END,
                lease_expires_at = NULL,
                updated_at = @now
            WHERE status = 'running' AND lease_expires_at < @now
            RETURNING status
            """;

    // Whether tenant t has a queued job, as one index probe per tenant: PostgreSQL plans an EXISTS as a semi-join
    // that hashes every queued job, which costs a claim time in proportion to the queue's length.
    private const string HasQueuedJob = "(SELECT 1 FROM jobs q WHERE q.tenant_id = t.id AND q.status = 'queued' LIMIT 1) IS NOT NULL";

    // Tenants with queued jobs, their running counts and the fair-share virtual time.
    private const string SharesSql = $"""
            SELECT t.id, t.weight, t.max_running_jobs, t.fair_pass,
                   (SELECT COUNT(*) FROM jobs r WHERE r.tenant_id = t.id AND r.status = 'running'),
                   (SELECT MAX(v.fair_start) FROM tenants v)
            FROM tenants t
            WHERE {HasQueuedJob}
            """;

    // Appends the commit (PostgreSQL) to a transaction's last command; see CommitUnlessCommittedAsync.
    private string WithCommit(string sql) =>
        _database.CommitStatement.Length == 0 ? sql : sql + ";\n" + _database.CommitStatement;

    // Ends a transaction whose last command was built WithCommit: on PostgreSQL that command committed it already.
    private async Task CommitUnlessCommittedAsync(DbTransaction transaction, CancellationToken cancellationToken)
    {
        if (_database.CommitStatement.Length == 0)
        {
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    // A command whose first statements take the advisory locks `lockNames`, in order, for the rest of the transaction (begun
    // without a lock), so that the locks and the queries after them, which then run under them, share one round trip.
    private DbCommand CreateLockedCommand(DbConnection connection, DbTransaction transaction, string sql, params string[] lockNames)
    {
        if (!_locksByStatement)
        {
            return connection.CreateCommand(transaction, sql);
        }

        var command = connection.CreateCommand(transaction, string.Concat(lockNames.Select((_, i) => _database.LockStatement($"lock_{i}") + ";\n")) + sql);
        for (var i = 0; i < lockNames.Length; i++)
        {
            command.AddParameter($"lock_{i}", lockNames[i]);
        }

        return command;
    }

    // Runs a CreateLockedCommand command taking `locks` locks; the reader is positioned at the first result after theirs.
    private async Task<DbDataReader> ExecuteLockedReaderAsync(DbCommand command, int locks, CancellationToken cancellationToken)
    {
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            for (var i = 0; i < locks && _locksByStatement; i++)
            {
                await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            }

            return reader;
        }
        catch
        {
            await reader.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    // Appends the wake-up statement (none on SQLite) to a command that makes a job claimable.
    private string WithJobsReady(string sql) =>
        _database.NotifyJobsReady.Length == 0 ? sql : sql + ";\n" + _database.NotifyJobsReady;

    // A job that ends frees one of its tenant's running slots: if the tenant has queued jobs (held back by its quota,
    // perhaps), idle silos are woken to claim one now rather than at their next poll. Only then: waking every idle
    // silo on every finished job would cost each of them an empty claim.
    private string WithSlotFreed(string sql) => _database.NotifyJobsReadyWhen(
        "EXISTS (SELECT 1 FROM jobs q WHERE q.status = 'queued' AND q.tenant_id = (SELECT f.tenant_id FROM jobs f WHERE f.id = @id))") is { Length: > 0 } notify
        ? sql + ";\n" + notify
        : sql;

    // Only when the sweep re-queued something: announcing every claim's empty sweep would wake every idle silo on
    // every claim, and each wake-up is another claim.
    private async Task AnnounceRequeuedAsync(DbConnection connection, DbTransaction transaction, LeaseSweepResult swept, CancellationToken cancellationToken)
    {
        if (swept.Requeued == 0 || _database.NotifyJobsReady.Length == 0)
        {
            return;
        }

        await using var command = connection.CreateCommand(transaction, _database.NotifyJobsReady);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<(List<FairShare.TenantShare> Tenants, double VirtualTime)> ReadSharesAsync(DbDataReader reader, CancellationToken cancellationToken)
    {
        var tenants = new List<FairShare.TenantShare>();
        var virtualTime = 0.0;
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            tenants.Add(new FairShare.TenantShare(reader.GetString(0), reader.GetInt32(1), reader.GetInt32(2), (int)reader.GetInt64(4), reader.GetDouble(3)));
            virtualTime = reader.GetDouble(5);
        }

        return (tenants, virtualTime);
    }

    // A tenant's window: its oldest queued jobs, the ones the residency preference may choose among (see ReadCandidate).
    private static string WindowSql(string tenant, string forUpdateSkipLocked) => $"""
            SELECT id, seq, adapter_hashes, tenant_id FROM jobs
            WHERE tenant_id = {tenant} AND status = 'queued'
            ORDER BY seq
            LIMIT {ResidencyWindow}{forUpdateSkipLocked}
            """;

    // The windows of the first FairShare.MaxGroupSize tenants in service order (eligible under their running quota, by
    // effective pass, then id), one statement per rank: the candidates of the usual claim, read ahead in its first round
    // trip. Each row names its tenant; a window with no rows is read again if its tenant turns out to be served.
    private static string NextWindowsSql(string forUpdateSkipLocked) => string.Join(";\n", Enumerable.Range(0, FairShare.MaxGroupSize).Select(rank => WindowSql($"""
            (
                SELECT t.id FROM tenants t
                WHERE {HasQueuedJob}
                  AND (SELECT COUNT(*) FROM jobs r WHERE r.tenant_id = t.id AND r.status = 'running') < t.max_running_jobs
                ORDER BY CASE WHEN t.fair_pass > (SELECT MAX(v.fair_start) FROM tenants v) THEN t.fair_pass
                              ELSE (SELECT MAX(v.fair_start) FROM tenants v) END, t.id
                LIMIT 1 OFFSET {rank})
            """, forUpdateSkipLocked)));

    private static async Task<Dictionary<string, List<FairShare.Candidate>>> ReadNextWindowsAsync(DbDataReader reader, CancellationToken cancellationToken)
    {
        var windows = new Dictionary<string, List<FairShare.Candidate>>(StringComparer.Ordinal);
        for (var rank = 0; rank < FairShare.MaxGroupSize; rank++)
        {
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var candidate = ReadCandidate(reader);
                if (!windows.TryGetValue(candidate.TenantId, out var window))
                {
                    windows[candidate.TenantId] = window = [];
                }

                window.Add(candidate);
            }
        }

        return windows;
    }

    private async Task ReadWindowAsync(
        DbConnection connection, DbTransaction transaction, string tenantId, List<FairShare.Candidate> candidates, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand(transaction, _windowSql);
        command.AddParameter("tenant", tenantId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            candidates.Add(ReadCandidate(reader));
        }
    }

    // A row of a window: id, seq, adapter_hashes, tenant_id.
    private static FairShare.Candidate ReadCandidate(DbDataReader reader) =>
        new(reader.GetGuid(0), reader.GetInt64(1), reader.GetString(3), JsonInput.ParseStringArray(reader.GetString(2)));

    // Leases the job, charges its tenant's fair share, announces re-queued jobs if asked and commits (PostgreSQL), all
    // in one round trip; the lease's row is the first result.
    private async Task<ClaimedJob> MarkRunningAsync(
        DbConnection connection, DbTransaction transaction, Guid jobId, string owner, long now, long expires,
        (string TenantId, double Start, double Pass) charge, bool announce, CancellationToken cancellationToken)
    {
        // The tenant is charged only if the lease took: the batch commits in the same round trip, so a charge that came
        // first would stay even when the lease finds the job gone (see below).
        var sql = $"""
            UPDATE jobs SET status = 'running', lease_owner = @owner, lease_expires_at = @expires, attempts = attempts + 1,
                started_at = COALESCE(started_at, @now), updated_at = @now
            WHERE id = @id AND status = 'queued'
            RETURNING {ClaimedColumns};
            UPDATE tenants SET fair_start = @start, fair_pass = @pass
            WHERE id = @tenant AND EXISTS (SELECT 1 FROM jobs WHERE id = @id AND lease_owner = @owner AND status = 'running' AND updated_at = @now)
            """;
        await using var command = connection.CreateCommand(transaction, WithCommit(announce ? WithJobsReady(sql) : sql));
        command.AddParameter("id", jobId).AddParameter("owner", owner).AddParameter("expires", expires).AddParameter("now", now)
            .AddParameter("start", charge.Start).AddParameter("pass", charge.Pass).AddParameter("tenant", charge.TenantId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            // The row was read under this transaction's lock (and SKIP LOCKED), so it cannot have moved on.
            throw new InvalidOperationException($"Job {jobId} was selected for claiming but is no longer queued.");
        }

        var checkpoint = reader.GetNullableInt32(8) is { } step
            ? new JobCheckpoint(step, reader.GetNullableBytes(9), reader.GetNullableString(10))
            : null;
        var claimed = new ClaimedJob(
            reader.GetGuid(0),
            reader.GetString(1),
            reader.GetNullableString(2),
            reader.GetString(3),
            JsonInput.ParseStringArray(reader.GetString(4)),
            reader.GetInt32(5),
            reader.GetInt32(6),
            owner,
            DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(7)),
            checkpoint,
            DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(11)));
        // The statements after the lease (the wake-up, the commit) report their errors as the reader moves past them:
        // the job is claimed only if they succeeded.
        while (await reader.NextResultAsync(cancellationToken).ConfigureAwait(false))
        {
        }

        return claimed;
    }

    private async Task WriteCheckpointAsync(Guid jobId, string owner, JobCheckpoint checkpoint, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(checkpoint.Step, "step");
        await GuardedUpdateAsync(jobId, owner, """
            UPDATE jobs SET checkpoint_step = @step, checkpoint_data = @data, checkpoint_path = @path, updated_at = @now
            WHERE id = @id AND lease_owner = @owner AND status = 'running'
            """, command => command.AddParameter("step", checkpoint.Step).AddParameter("data", checkpoint.Data).AddParameter("path", checkpoint.BlobPath),
            cancellationToken).ConfigureAwait(false);
    }

    // Runs one lease-guarded UPDATE (parameters @id, @owner, @now plus the caller's) and turns "no row matched" into LeaseLostException.
    private async Task GuardedUpdateAsync(Guid jobId, string owner, string sql, Action<DbCommand> addParameters, CancellationToken cancellationToken)
    {
        StorageKeys.Id(owner, nameof(owner));
        await using var connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (var command = connection.CreateCommand(null, sql))
        {
            command.AddParameter("id", jobId).AddParameter("owner", owner).AddParameter("now", _clock.GetUtcNow().ToUnixTimeMilliseconds());
            addParameters(command);
            if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1)
            {
                return;
            }
        }

        throw await LeaseLostAsync(connection, jobId, owner, cancellationToken).ConfigureAwait(false);
    }

    // Describes why a guarded write matched nothing; read after the fact, only for the message.
    private static async Task<LeaseLostException> LeaseLostAsync(DbConnection connection, Guid jobId, string owner, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand(null, "SELECT status, lease_owner FROM jobs WHERE id = @id");
        command.AddParameter("id", jobId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var detail = await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? $"the job is {reader.GetString(0)}" + (reader.GetNullableString(1) is { } holder && reader.GetString(0) == JobStatusColumn.Running ? $" under a lease held by '{holder}'" : string.Empty)
            : "there is no such job";
        return new LeaseLostException(jobId, owner, detail);
    }

    private static void ValidateLease(TimeSpan leaseDuration)
    {
        if (leaseDuration < MinLease || leaseDuration > MaxLease)
        {
            throw new ArgumentOutOfRangeException(nameof(leaseDuration), leaseDuration, $"leaseDuration must be between {MinLease} and {MaxLease}.");
        }
    }

    private static string Truncate(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Length <= 4000 ? text : text[..4000];
    }
}
