namespace LoraGrains.Cluster.Storage;

/// <summary>
/// A version-checked write found a newer version than the one it was based on: another writer got there
/// first. Nothing was written; re-read, re-apply the change and retry (HTTP 409 / ETag mismatch).
/// </summary>
public sealed class ConcurrencyConflictException : Exception
{
    /// <summary>Creates the exception for <paramref name="entity"/>.</summary>
    /// <param name="entity">What was being written, e.g. <c>session acme/s1</c>.</param>
    /// <param name="expectedVersion">The version the writer based its change on.</param>
    /// <param name="actualVersion">The version the database holds.</param>
    public ConcurrencyConflictException(string entity, long expectedVersion, long actualVersion)
        : base($"{entity} was changed concurrently: the update expected version {expectedVersion} but the stored version is {actualVersion}. Re-read it and retry.")
    {
        Entity = entity;
        ExpectedVersion = expectedVersion;
        ActualVersion = actualVersion;
    }

    /// <summary>What was being written.</summary>
    public string Entity { get; }

    /// <summary>The version the writer based its change on.</summary>
    public long ExpectedVersion { get; }

    /// <summary>The version the database holds.</summary>
    public long ActualVersion { get; }
}
