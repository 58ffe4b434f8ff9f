using LoraGrains.Client;
using LoraGrains.Cluster.Runtime;
using LoraGrains.Cluster.Storage;
using LoraGrains.Diffusion.Lora;
using LoraGrains.Torch;

namespace LoraGrains.Cluster.Grains;

/// <summary>
/// A LoRA adapter (key = content hash). Registration validates the file against the silo's model, stores it in the
/// data directory by hash and records the tenant's metadata; a tenant sees only its own registrations.
/// </summary>
public sealed class AdapterGrain(ClusterStore store, ModelHost host, SiloFiles files) : Grain
{
    /// <summary>
    /// Registers the staged file <paramref name="stagedPath"/> (whose SHA-256 is this grain's key) for a tenant.
    /// The staged file is consumed: moved into the data directory or deleted.
    /// </summary>
    /// <exception cref="ArgumentException">The file is not an adapter this model can use.</exception>
    public async Task<AdapterRecord> RegisterAsync(string tenantId, string name, string stagedPath, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stagedPath);
        try
        {
            StorageKeys.Text(name, "name", 256);
            var size = new FileInfo(stagedPath).Length;
            string format;
            int rank;
            IReadOnlyList<string> targets;
            try
            {
                using var adapter = LoraAdapter.Load(stagedPath, host.Model.Targets, Device.Cpu, DType.Float32);
                if (adapter.Report.AppliedModules == 0)
                {
                    throw new ArgumentException("body: the adapter matches no layer of the silo's model", "body");
                }

                format = adapter.Format.ToString().ToLowerInvariant();
                rank = adapter.Modules.Max(m => m.Rank);
                targets = [.. adapter.Report.ModulesPerComponent.Where(c => c.Value > 0).Select(c => c.Key)];
            }
            catch (Exception e) when (e is LoraFormatException or Torch.Safetensors.SafetensorsException or TorchException or InvalidOperationException)
            {
                // The staged file's name means nothing to the caller: name the adapter instead.
                throw new ArgumentException($"body: not a usable LoRA adapter: {e.Message.Replace(stagedPath, $"'{name}'", StringComparison.Ordinal)}", "body", e);
            }

            var target = files.AdapterPath(Key);
            if (!File.Exists(target))
            {
                File.Move(stagedPath, target, overwrite: true);
            }

            return await store.Adapters.RegisterAsync(
                new AdapterRecord(tenantId, Key, name, format, rank, targets, [], null, target, size, default), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (File.Exists(stagedPath))
            {
                File.Delete(stagedPath);
            }
        }
    }

    /// <summary>The tenant's registration of this adapter, or <see langword="null"/>.</summary>
    public Task<AdapterRecord?> GetAsync(string tenantId, CancellationToken cancellationToken) => store.Adapters.GetAsync(tenantId, Key, cancellationToken);

    /// <summary>Removes the tenant's registration; returns whether it existed.</summary>
    public Task<bool> DeleteAsync(string tenantId, CancellationToken cancellationToken) => store.Adapters.DeleteAsync(tenantId, Key, cancellationToken);

    /// <summary>The API view of a registration.</summary>
    public static AdapterInfo ToInfo(AdapterRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return new AdapterInfo(record.ContentHash, record.Name, record.Format, record.Rank, record.Targets, record.SizeBytes, record.CreatedAt);
    }
}
