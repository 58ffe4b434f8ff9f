namespace LoraGrains.Cluster.Storage;

/// <summary>A create was refused because an entity with that key already exists; nothing was changed (HTTP 409).</summary>
public sealed class AlreadyExistsException : Exception
{
    /// <summary>Creates the exception for <paramref name="entity"/>.</summary>
    /// <param name="entity">The entity and key, e.g. <c>tenant 'acme'</c>.</param>
    public AlreadyExistsException(string entity)
        : base($"{entity} already exists.") => Entity = entity;

    /// <summary>The entity and key.</summary>
    public string Entity { get; }
}
