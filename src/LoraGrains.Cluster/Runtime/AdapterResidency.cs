using LoraGrains.Diffusion.Lora;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LoraGrains.Cluster.Runtime;

/// <summary>
/// Adapters attached to the silo's model (keyed by content hash), within a byte budget: loading one past the
/// budget detaches and disposes the least recently used ones not needed by the current run. Evicted adapters are
/// reloaded from the data directory on demand. Call only while holding the <see cref="ModelHost"/> lease.
/// </summary>
public sealed class AdapterResidency
{
    private readonly ModelHost _host;
    private readonly SiloFiles _files;
    private readonly long _budget;
    private readonly ILogger<AdapterResidency> _logger;
    private readonly LinkedList<Entry> _lru = new();
    private readonly Dictionary<string, LinkedListNode<Entry>> _byHash = new(StringComparer.Ordinal);
    private volatile string[] _resident = [];

    /// <summary>Creates an empty residency tier.</summary>
    public AdapterResidency(ModelHost host, SiloFiles files, IOptions<SiloOptions> options, ILogger<AdapterResidency> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _host = host;
        _files = files;
        _budget = options.Value.AdapterBudgetBytes;
        _logger = logger;
    }

    /// <summary>Content hashes attached now (safe to read from any thread).</summary>
    public IReadOnlyCollection<string> ResidentHashes => _resident;

    /// <summary>Bytes of adapter files attached now.</summary>
    public long ResidentBytes { get; private set; }

    /// <summary>Adapters evicted so far.</summary>
    public int Evictions { get; private set; }

    /// <summary>Makes every adapter in <paramref name="hashes"/> attached under its hash, evicting others as the budget needs.</summary>
    public void EnsureAttached(IReadOnlyCollection<string> hashes)
    {
        ArgumentNullException.ThrowIfNull(hashes);
        var needed = new HashSet<string>(hashes, StringComparer.Ordinal);
        foreach (var hash in hashes)
        {
            if (_byHash.TryGetValue(hash, out var node))
            {
                _lru.Remove(node);
                _lru.AddFirst(node);
                continue;
            }

            var path = _files.AdapterPath(hash);
            if (!File.Exists(path))
            {
                throw new FileNotFoundException($"adapter {hash} is not in the data directory", path);
            }

            var size = new FileInfo(path).Length;
            Evict(size, needed);
            var model = _host.Model;
            var adapter = LoraAdapter.Load(path, model.Targets, model.Device, model.DType);
            try
            {
                model.Adapters.Attach(hash, adapter);
            }
            catch
            {
                adapter.Dispose();
                throw;
            }

            _byHash[hash] = _lru.AddFirst(new Entry(hash, adapter, size));
            ResidentBytes += size;
            _logger.LogInformation("Adapter {Hash} attached ({Bytes} bytes; {Resident} bytes resident)", hash[..12], size, ResidentBytes);
        }

        // A run that needed more than the budget left the tier over it: trim back to the budget now.
        Evict(0, needed);
        _resident = [.. _byHash.Keys];
    }

    private void Evict(long incoming, HashSet<string> keep)
    {
        var node = _lru.Last;
        while (node is not null && ResidentBytes + incoming > _budget)
        {
            var previous = node.Previous;
            if (!keep.Contains(node.Value.Hash))
            {
                _host.Model.Adapters.Detach(node.Value.Hash);
                node.Value.Adapter.Dispose();
                ResidentBytes -= node.Value.Bytes;
                _byHash.Remove(node.Value.Hash);
                _lru.Remove(node);
                Evictions++;
                _logger.LogInformation("Adapter {Hash} evicted (budget {Budget} bytes)", node.Value.Hash[..12], _budget);
            }

            node = previous;
        }
    }

    private sealed record Entry(string Hash, LoraAdapter Adapter, long Bytes);
}
