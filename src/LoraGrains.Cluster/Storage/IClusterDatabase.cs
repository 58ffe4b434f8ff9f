using System.Data.Common;

namespace LoraGrains.Cluster.Storage;

/// <summary>
/// The few things that differ between the two database engines. Every store writes one SQL text for
/// both; what cannot be written the same way (row locks, transaction start, JSON columns, migration
/// scripts) is asked of this interface, so the behaviour that matters — who may write what, and when —
/// lives in one place per store.
/// </summary>
public interface IClusterDatabase : IAsyncDisposable
{
    /// <summary>Which engine this is.</summary>
    ClusterDatabaseProvider Provider { get; }

    /// <summary>
    /// Appended to a <c>SELECT</c> that picks rows to change inside a transaction: PostgreSQL's
    /// <c>FOR UPDATE SKIP LOCKED</c>; empty on SQLite, whose write transaction already excludes every other writer.
    /// </summary>
    string ForUpdateSkipLocked { get; }

    /// <summary>
    /// A statement that wakes every silo's idle job worker once the transaction it runs in commits, run wherever a job
    /// becomes claimable (submitted, re-queued after its lease expired, released by a draining silo): PostgreSQL's
    /// <c>NOTIFY</c> on <see cref="PostgresClusterDatabase.JobsChannel"/>; empty on SQLite, whose single silo is woken in-process.
    /// </summary>
    string NotifyJobsReady { get; }

    /// <summary>
    /// <see cref="NotifyJobsReady"/> only if the SQL <paramref name="condition"/> holds when the statement runs (a
    /// statement that changes no rows); empty on SQLite.
    /// </summary>
    string NotifyJobsReadyWhen(string condition);

    /// <summary>Opens a pooled connection, configured for this engine.</summary>
    /// <param name="cancellationToken">Cancels the open.</param>
    ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Starts a write transaction. On PostgreSQL it is read committed and additionally holds the named
    /// advisory lock until it ends (pass <see langword="null"/> for none), so that work which reads a decision's
    /// inputs and writes its outcome runs one at a time across silos. On SQLite it is <c>BEGIN IMMEDIATE</c>,
    /// which takes the database's single write lock up front (a deferred transaction that reads and then writes
    /// can fail with "database is locked" instead of waiting).
    /// </summary>
    /// <param name="connection">An open connection from <see cref="OpenConnectionAsync"/>.</param>
    /// <param name="lockName">Advisory lock to hold for the transaction's lifetime, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the wait for the lock.</param>
    ValueTask<DbTransaction> BeginWriteAsync(DbConnection connection, string? lockName, CancellationToken cancellationToken);

    /// <summary>
    /// A statement that takes the advisory lock named by parameter <c>@</c><paramref name="parameterName"/> for the rest of
    /// a transaction begun by <see cref="BeginWriteAsync"/> without a lock, to be sent in the same round trip as the
    /// transaction's first query (it yields one result set); empty where a write transaction already excludes every
    /// other writer.
    /// </summary>
    /// <param name="parameterName">The parameter holding the lock's name, without the <c>@</c>.</param>
    string LockStatement(string parameterName);

    /// <summary>
    /// A statement that commits the transaction begun by <see cref="BeginWriteAsync"/>, appended to the transaction's last
    /// command so that the commit shares its round trip (PostgreSQL's <c>COMMIT</c>: the <see cref="DbTransaction"/> sees
    /// the transaction end and is then complete, so it is not committed again); empty where the transaction is committed
    /// through <see cref="DbTransaction.CommitAsync(CancellationToken)"/> (SQLite, in-process: there is no round trip to save).
    /// </summary>
    string CommitStatement { get; }

    /// <summary>Adds a parameter for a JSON document column (PostgreSQL <c>jsonb</c>, SQLite <c>TEXT</c>).</summary>
    /// <param name="command">The command to add it to.</param>
    /// <param name="name">Parameter name without the <c>@</c>.</param>
    /// <param name="json">The JSON text, already validated.</param>
    void AddJsonParameter(DbCommand command, string name, string json);

    /// <summary>The migration scripts of this engine's dialect, in version order.</summary>
    IReadOnlyList<SchemaMigration> Migrations { get; }
}
