using LoraGrains.Diffusion.Lora;
using LoraGrains.Torch;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LoraGrains.Cluster.Runtime;

/// <summary>
/// The silo's adapters (keyed by content hash) in three tiers, each least-recently-used first out:
/// <list type="bullet">
/// <item><see cref="AdapterTier.Device"/>: attached to the model, within <see cref="SiloOptions.AdapterBudgetBytes"/>;
/// past it the least recently used adapters not needed by the current run are demoted to the host tier.</item>
/// <item><see cref="AdapterTier.Host"/>: detached, within <see cref="SiloOptions.AdapterHostBudgetBytes"/>. On a CUDA
/// model the matrices are copied to page-locked (pinned) host memory so promotion is one asynchronous copy; on a CPU
/// model the device tier is host memory already, so the host tier keeps the same tensors detached and promotion is a
/// re-attach. Either way promotion reads no file. Past the budget the least recently used adapters are dropped.</item>
/// <item><see cref="AdapterTier.Disk"/>: only the file in the data directory; using it loads and validates it again.</item>
/// </list>
/// Sizes are the bytes of the adapters' weights as held (the model's dtype). Call <see cref="EnsureAttached"/> only
/// while holding the <see cref="ModelHost"/> lease; the tier snapshots are safe to read from any thread.
/// </summary>
public sealed class AdapterResidency : IDisposable
{
    private readonly ModelHost _model;
    private readonly SiloFiles _files;
    private readonly SiloMetrics _metrics;
    private readonly long _deviceBudget;
    private readonly long _hostBudget;
    private readonly bool _pinHostTier;
    private readonly ILogger<AdapterResidency> _logger;
    private readonly LinkedList<Entry> _deviceLru = new();
    private readonly LinkedList<Entry> _hostLru = new();
    private readonly Dictionary<string, LinkedListNode<Entry>> _byHash = new(StringComparer.Ordinal);
    private volatile IReadOnlyList<AdapterTierUsage> _tiers = [];
    private volatile string[] _resident = [];

    /// <summary>Creates empty tiers and publishes their gauges on <paramref name="metrics"/>.</summary>
    public AdapterResidency(ModelHost model, SiloFiles files, SiloMetrics metrics, IOptions<SiloOptions> options, ILogger<AdapterResidency> logger)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(options);
        _model = model;
        _files = files;
        _metrics = metrics;
        _deviceBudget = options.Value.AdapterBudgetBytes;
        _hostBudget = Math.Max(0, options.Value.AdapterHostBudgetBytes);
        _logger = logger;

        // Pinning only pays off for copies to a CUDA device, and needs CUDA's host allocator anyway.
        _pinHostTier = model.Model.Device.IsCuda;
        if (!_pinHostTier && _hostBudget > 0)
        {
            _logger.LogInformation(
                "Model on {Device}: the device tier is host memory already; the host tier ({Budget} bytes) keeps evicted adapters detached in the same memory and re-attaches them without reading the file",
                model.Model.Device, _hostBudget);
        }

        Publish();
        metrics.ObserveAdapterTiers(() => _tiers);
    }

    /// <summary>Content hashes held in memory (device or host tier): a run needing them reads no file. Safe from any thread.</summary>
    public IReadOnlyCollection<string> ResidentHashes => _resident;

    /// <summary>Bytes held in memory, both tiers together.</summary>
    public long ResidentBytes => _tiers.Sum(t => t.Bytes);

    /// <summary>The device and host tiers now (hashes most recently used first). Safe from any thread.</summary>
    public IReadOnlyList<AdapterTierUsage> Tiers => _tiers;

    /// <summary>The device tier now: adapters attached to the model.</summary>
    public AdapterTierUsage DeviceTier => _tiers[0];

    /// <summary>The host tier now: adapters detached in host memory.</summary>
    public AdapterTierUsage HostTier => _tiers[1];

    /// <summary>Adapters attached from the host tier (no file read).</summary>
    public int Promotions { get; private set; }

    /// <summary>Adapters attached by loading their file (first use, or after being dropped).</summary>
    public int Loads { get; private set; }

    /// <summary>Adapters moved from the device tier to the host tier.</summary>
    public int Demotions { get; private set; }

    /// <summary>Adapters dropped from memory (from the host tier, or from the device when the host tier cannot take them).</summary>
    public int Evictions { get; private set; }

    /// <summary>
    /// The tier <paramref name="contentHash"/> is in now (<see cref="AdapterTier.Disk"/> when in neither memory tier,
    /// whether or not its file exists).
    /// </summary>
    public AdapterTier TierOf(string contentHash)
    {
        foreach (var tier in _tiers)
        {
            if (tier.Hashes.Contains(contentHash, StringComparer.Ordinal))
            {
                return tier.Tier;
            }
        }

        return AdapterTier.Disk;
    }

    /// <summary>
    /// Makes every adapter in <paramref name="hashes"/> attached under its hash (promoting from the host tier or loading
    /// the file), demoting and evicting others as the budgets need. The adapters of <paramref name="hashes"/> are never
    /// demoted by this call, even when together they exceed the device budget.
    /// </summary>
    /// <exception cref="FileNotFoundException">An adapter is in no memory tier and its file is not in the data directory.</exception>
    public void EnsureAttached(IReadOnlyCollection<string> hashes)
    {
        ArgumentNullException.ThrowIfNull(hashes);
        var needed = new HashSet<string>(hashes, StringComparer.Ordinal);
        try
        {
            foreach (var hash in hashes)
            {
                if (_byHash.TryGetValue(hash, out var node))
                {
                    if (node.Value.Tier == AdapterTier.Device)
                    {
                        _deviceLru.Remove(node);
                        _deviceLru.AddFirst(node);
                    }
                    else
                    {
                        Promote(node, needed);
                    }

                    continue;
                }

                Load(hash, needed);
            }

            // A run that needed more than a budget left its tier over it: trim back now that it no longer needs the rest.
            MakeRoomOnDevice(0, needed);
            MakeRoomOnHost(0, needed);
        }
        finally
        {
            Publish();
        }
    }

    /// <summary>Detaches every adapter and frees all of them.</summary>
    public void Dispose()
    {
        foreach (var node in _byHash.Values)
        {
            if (node.Value.Tier == AdapterTier.Device)
            {
                _model.Model.Adapters.Detach(node.Value.Hash);
            }

            node.Value.Adapter.Dispose();
        }

        _byHash.Clear();
        _deviceLru.Clear();
        _hostLru.Clear();
        Publish();
    }

    private void Promote(LinkedListNode<Entry> node, HashSet<string> keep)
    {
        var entry = node.Value;
        _hostLru.Remove(node);
        MakeRoomOnDevice(entry.Bytes, keep);
        var model = _model.Model;
        LoraAdapter attached;
        try
        {
            // From pinned memory the copy is queued on the stream the run then uses, so nothing waits for it here.
            attached = _pinHostTier ? entry.Adapter.To(model.Device, model.DType, nonBlocking: true) : entry.Adapter;
            try
            {
                model.Adapters.Attach(entry.Hash, attached);
            }
            catch
            {
                if (!ReferenceEquals(attached, entry.Adapter))
                {
                    attached.Dispose();
                }

                throw;
            }
        }
        catch
        {
            _hostLru.AddFirst(node);
            throw;
        }

        if (!ReferenceEquals(attached, entry.Adapter))
        {
            // Safe while the copy is in flight: libtorch's pinned allocator reuses the block only after the copy's event.
            entry.Adapter.Dispose();
        }

        entry.Adapter = attached;
        entry.Bytes = attached.ByteSize;
        entry.Tier = AdapterTier.Device;
        entry.Pinned = false;
        _deviceLru.AddFirst(node);
        Promotions++;
        _metrics.AdapterPromotions.Add(1, new KeyValuePair<string, object?>("from", "host"));
        _logger.LogInformation("Adapter {Hash} promoted from the host tier ({Bytes} bytes)", Short(entry.Hash), entry.Bytes);
    }

    private void Load(string hash, HashSet<string> keep)
    {
        var path = _files.AdapterPath(hash);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"adapter {hash} is in no memory tier and its file is not in the data directory", path);
        }

        // The weights' size is known only once loaded; the file's size bounds it closely (header aside) at the same dtype.
        MakeRoomOnDevice(new FileInfo(path).Length, keep);
        var model = _model.Model;
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

        var entry = new Entry(hash, adapter, adapter.ByteSize);
        _byHash[hash] = _deviceLru.AddFirst(entry);
        Loads++;
        _metrics.AdapterPromotions.Add(1, new KeyValuePair<string, object?>("from", "disk"));
        _logger.LogInformation("Adapter {Hash} loaded from disk and attached ({Bytes} bytes; device tier {Resident} bytes)", Short(hash), entry.Bytes, DeviceBytes());
    }

    private void MakeRoomOnDevice(long incoming, HashSet<string> keep)
    {
        var node = _deviceLru.Last;
        while (node is not null && DeviceBytes() + incoming > _deviceBudget)
        {
            var previous = node.Previous;
            if (!keep.Contains(node.Value.Hash))
            {
                Demote(node, keep);
            }

            node = previous;
        }
    }

    private void Demote(LinkedListNode<Entry> node, HashSet<string> keep)
    {
        var entry = node.Value;
        _model.Model.Adapters.Detach(entry.Hash);
        _deviceLru.Remove(node);
        if (entry.Bytes > _hostBudget)
        {
            Drop(node, AdapterTier.Device);
            return;
        }

        MakeRoomOnHost(entry.Bytes, keep);
        if (_pinHostTier)
        {
            LoraAdapter pinned;
            try
            {
                pinned = entry.Adapter.ToPinnedHost();
            }
            catch (TorchException e)
            {
                // Page-locked memory is scarcer than pageable memory; the file still has the adapter.
                _logger.LogWarning("Adapter {Hash} could not be pinned in host memory ({Error}); dropped to disk", Short(entry.Hash), e.Message);
                Drop(node, AdapterTier.Device);
                return;
            }

            entry.Adapter.Dispose();
            entry.Adapter = pinned;
            entry.Pinned = pinned.IsPinned;
        }

        entry.Tier = AdapterTier.Host;
        _hostLru.AddFirst(node);
        Demotions++;
        _metrics.AdapterEvictions.Add(1, new KeyValuePair<string, object?>("from", "device"), new KeyValuePair<string, object?>("to", "host"));
        _logger.LogInformation("Adapter {Hash} demoted to the host tier{Pinned} (device budget {Budget} bytes)",
            Short(entry.Hash), _pinHostTier ? " (pinned)" : string.Empty, _deviceBudget);
    }

    private void MakeRoomOnHost(long incoming, HashSet<string> keep)
    {
        var node = _hostLru.Last;
        while (node is not null && HostBytes() + incoming > _hostBudget)
        {
            var previous = node.Previous;
            if (!keep.Contains(node.Value.Hash))
            {
                _hostLru.Remove(node);
                Drop(node, AdapterTier.Host);
            }

            node = previous;
        }
    }

    // The node is already out of its list.
    private void Drop(LinkedListNode<Entry> node, AdapterTier from)
    {
        var entry = node.Value;
        entry.Adapter.Dispose();
        _byHash.Remove(entry.Hash);
        Evictions++;
        _metrics.AdapterEvictions.Add(1, new KeyValuePair<string, object?>("from", SiloMetrics.TierTag(from)), new KeyValuePair<string, object?>("to", "disk"));
        _logger.LogInformation("Adapter {Hash} evicted from the {Tier} tier to disk ({Bytes} bytes)", Short(entry.Hash), SiloMetrics.TierTag(from), entry.Bytes);
    }

    private long DeviceBytes() => _deviceLru.Sum(e => e.Bytes);

    private long HostBytes() => _hostLru.Sum(e => e.Bytes);

    private void Publish()
    {
        var device = _deviceLru.Select(e => e.Hash).ToArray();
        var host = _hostLru.Select(e => e.Hash).ToArray();
        _tiers =
        [
            new AdapterTierUsage(AdapterTier.Device, device, DeviceBytes(), _deviceBudget),
            new AdapterTierUsage(AdapterTier.Host, host, HostBytes(), _hostBudget, _hostLru.Where(e => e.Pinned).Sum(e => e.Bytes)),
        ];
        _resident = [.. device, .. host];
    }

    private static string Short(string hash) => hash.Length > 12 ? hash[..12] : hash;

    private sealed class Entry(string hash, LoraAdapter adapter, long bytes)
    {
        public string Hash { get; } = hash;

        public LoraAdapter Adapter { get; set; } = adapter;

        public long Bytes { get; set; } = bytes;

        public AdapterTier Tier { get; set; } = AdapterTier.Device;

        public bool Pinned { get; set; }
    }
}
