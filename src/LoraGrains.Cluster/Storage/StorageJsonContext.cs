using System.Text.Json.Serialization;

namespace LoraGrains.Cluster.Storage;

/// <summary>Source-generated JSON metadata for the few shapes the stores serialise themselves.</summary>
[JsonSerializable(typeof(IReadOnlyList<string>))]
internal sealed partial class StorageJsonContext : JsonSerializerContext;
