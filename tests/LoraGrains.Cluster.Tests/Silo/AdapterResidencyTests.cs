using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using LoraGrains.Cluster.Runtime;
using LoraGrains.Cluster.Tests.Infrastructure;
using LoraGrains.Diffusion.Composition;
using LoraGrains.Diffusion.Lora;
using LoraGrains.Diffusion.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace LoraGrains.Cluster.Tests.Silo;

/// <summary>
/// The adapter tiers: device (attached) → host (detached; pinned on CUDA) → disk (the data-directory file), each LRU,
/// with the adapters of the current run never evicted. Runs on the embedded tiny model on the CPU.
/// </summary>
public sealed class AdapterResidencyTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), $"lg-residency-{Guid.NewGuid():N}");
    private readonly IOptions<SiloOptions> _options;
    private readonly SiloFiles _files;
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly SiloMetrics _metrics;
    private readonly ModelHost _host;
    private readonly string _a;
    private readonly string _b;
    private readonly string _c;
    private readonly string _d;

    public AdapterResidencyTests()
    {
        _options = Options.Create(new SiloOptions { DataDirectory = _data, Threads = 1, });
        _files = new SiloFiles(_options);
        _a = Store(TestAdapters.LoraA);
        _b = Store(TestAdapters.LoraB);
        _c = Store(TestAdapters.LoraC);
        _d = Store(TestAdapters.LoraD);
        _metrics = new SiloMetrics(_services.GetRequiredService<IMeterFactory>());
        _host = new ModelHost(_options, NullLogger<ModelHost>.Instance);
    }

    [Fact]
    public void Device_tier_demotes_to_host_and_host_tier_evicts_its_least_recently_used_to_disk()
    {
        // The device holds one of A, C, D (B only while a run needs it); the host two of them; B never fits the host.
        var small = new[] { Bytes(_a), Bytes(_c), Bytes(_d) }.Order().ToArray();
        Assert.True(Bytes(_b) > small[1] + small[2], "the fixture LoCon must be larger than two small LoRAs");
        using var residency = Create(deviceBudget: small[2] + 1, hostBudget: small[1] + small[2]);

        residency.EnsureAttached([_a]);
        residency.EnsureAttached([_c]);
        residency.EnsureAttached([_d]);
        Assert.Equal([_d], residency.DeviceTier.Hashes);
        Assert.Equal([_d], _host.Model.Adapters.Ids);
        Assert.Equal([_c, _a], residency.HostTier.Hashes);               // most recently demoted first
        Assert.Equal(Bytes(_a) + Bytes(_c), residency.HostTier.Bytes);
        Assert.Equal(0, residency.HostTier.PinnedBytes);                 // CPU: the host tier is the same memory, detached
        Assert.Equal((3, 0, 2, 0), (residency.Loads, residency.Promotions, residency.Demotions, residency.Evictions));

        // A comes back from the host tier; D takes its place there.
        residency.EnsureAttached([_a]);
        Assert.Equal([_a], _host.Model.Adapters.Ids);
        Assert.Equal([_d, _c], residency.HostTier.Hashes);
        Assert.Equal((3, 1), (residency.Loads, residency.Promotions));

        // B demotes A; the host tier is full, so its least recently used adapter (C) goes to disk.
        residency.EnsureAttached([_b]);
        Assert.Equal([_a, _d], residency.HostTier.Hashes);
        Assert.Equal(AdapterTier.Disk, residency.TierOf(_c));
        Assert.Equal(AdapterTier.Device, residency.TierOf(_b));
        Assert.Equal(1, residency.Evictions);
        Assert.Equal(new[] { _b, _a, _d }.Order(), residency.ResidentHashes.Order());

        // C is loaded from disk again; B, too large for the host tier, is dropped straight to disk.
        residency.EnsureAttached([_c]);
        Assert.Equal(AdapterTier.Disk, residency.TierOf(_b));
        Assert.Equal((5, 2), (residency.Loads, residency.Evictions));
        Assert.Equal([_c], _host.Model.Adapters.Ids);
    }

    [Fact]
    public void Promotion_from_the_host_tier_reads_no_file_while_a_disk_tier_adapter_without_its_file_fails_clearly()
    {
        // Each tier holds one adapter.
        using var residency = Create(deviceBudget: Math.Max(Bytes(_a), Bytes(_c)) + 1, hostBudget: Math.Max(Bytes(_a), Bytes(_c)) + 1);
        residency.EnsureAttached([_a]);
        residency.EnsureAttached([_c]);     // A → host
        residency.EnsureAttached([_d]);     // C → host, A → disk
        Assert.Equal([_c], residency.HostTier.Hashes);
        Assert.Equal(AdapterTier.Disk, residency.TierOf(_a));

        File.Delete(_files.AdapterPath(_a));
        File.Delete(_files.AdapterPath(_c));
        residency.EnsureAttached([_c]);
        Assert.Equal([_c], _host.Model.Adapters.Ids);
        Assert.Equal(1, residency.Promotions);

        var e = Assert.Throws<FileNotFoundException>(() => residency.EnsureAttached([_a]));
        Assert.Contains(_a, e.Message, StringComparison.Ordinal);
        Assert.Contains("is in no memory tier and its file is not in the data directory", e.Message, StringComparison.Ordinal);
        Assert.Equal([_c], _host.Model.Adapters.Ids);                    // the failure changed nothing attached
    }

    [Fact]
    public void Adapters_of_the_current_run_are_never_evicted_from_either_tier()
    {
        // The device holds one adapter; the host holds A or D, never C.
        Assert.True(Bytes(_c) > Bytes(_a) + 1 && Bytes(_d) <= Bytes(_a), "fixture sizes: C > A >= D");
        using var residency = Create(deviceBudget: Math.Max(Bytes(_c), Bytes(_d)) + 1, hostBudget: Bytes(_a) + 1);

        // A run needing three adapters keeps all three attached, over the device budget.
        residency.EnsureAttached([_a, _c, _d]);
        Assert.Equal(new[] { _a, _c, _d }.Order(), _host.Model.Adapters.Ids.Order());

        // The next run trims the device tier back: only D stays, A fits the host, C is dropped.
        residency.EnsureAttached([_d]);
        Assert.Equal([_d], residency.DeviceTier.Hashes);
        Assert.Equal([_a], residency.HostTier.Hashes);

        // A run needing C (on disk) and A (on the host): loading C demotes D into the full host tier, which must not
        // drop A to make room — A is promoted, not reloaded.
        var loads = residency.Loads;
        residency.EnsureAttached([_c, _a]);
        Assert.Equal(new[] { _a, _c }.Order(), _host.Model.Adapters.Ids.Order());
        Assert.Equal(loads + 1, residency.Loads);
        Assert.Equal(1, residency.Promotions);
        Assert.Equal([_d], residency.HostTier.Hashes);
    }

    [Fact]
    public void The_image_is_the_same_whichever_tier_the_adapters_came_from()
    {
        var request = new GenerationRequest
        {
            Prompt = "a lighthouse at dusk",
            Steps = 2,
            Width = 64,
            Height = 64,
            Seed = 11,
            Method = CompositionMethod.Composite,
            Adapters = [new AdapterUse(_a, 0.9), new AdapterUse(_c, 0.7)],
        };
        var oneAtATime = Math.Max(Bytes(_a), Bytes(_c)) + 1;

        byte[] fresh;
        using (var residency = Create(deviceBudget: 1L << 30, hostBudget: 0))
        {
            residency.EnsureAttached([_a, _c]);
            Assert.Equal(2, residency.Loads);
            fresh = new StableDiffusionPipeline(_host.Model).Generate(request).Images[0];
        }

        byte[] fromHost;
        using (var residency = Create(deviceBudget: oneAtATime, hostBudget: 1L << 30))
        {
            residency.EnsureAttached([_a, _c]);
            residency.EnsureAttached([_b]);
            Assert.Equal(new[] { _a, _c }.Order(), residency.HostTier.Hashes.Order());
            residency.EnsureAttached([_a, _c]);
            Assert.Equal((2, 3), (residency.Promotions, residency.Loads));
            fromHost = new StableDiffusionPipeline(_host.Model).Generate(request).Images[0];
        }

        byte[] fromDisk;
        using (var residency = Create(deviceBudget: oneAtATime, hostBudget: 0))
        {
            residency.EnsureAttached([_a, _c]);
            residency.EnsureAttached([_b]);
            Assert.Equal(2, residency.Evictions);
            residency.EnsureAttached([_a, _c]);
            Assert.Equal((0, 5), (residency.Promotions, residency.Loads));
            fromDisk = new StableDiffusionPipeline(_host.Model).Generate(request).Images[0];
        }

        Assert.Equal(fresh, fromHost);
        Assert.Equal(fresh, fromDisk);
    }

    [Fact]
    public void Tier_sizes_and_moves_are_published_as_metrics()
    {
        using var text = new MetricsText(_metrics);
        using var residency = Create(deviceBudget: Math.Max(Bytes(_a), Bytes(_c)) + 1, hostBudget: 1L << 30);
        residency.EnsureAttached([_a]);
        residency.EnsureAttached([_c]);
        residency.EnsureAttached([_a]);
        var rendered = text.Render();
        Assert.Contains($"loragrains_adapters_resident_bytes{{tier=\"device\"}} {Bytes(_a)}\n", rendered, StringComparison.Ordinal);
        Assert.Contains($"loragrains_adapters_resident_bytes{{tier=\"host\"}} {Bytes(_c)}\n", rendered, StringComparison.Ordinal);
        Assert.Contains("loragrains_adapters_resident_count{tier=\"host\"} 1\n", rendered, StringComparison.Ordinal);
        Assert.Contains("loragrains_adapters_promoted{from=\"disk\"} 2\n", rendered, StringComparison.Ordinal);
        Assert.Contains("loragrains_adapters_promoted{from=\"host\"} 1\n", rendered, StringComparison.Ordinal);
        Assert.Contains("loragrains_adapters_evicted{from=\"device\",to=\"host\"} 2\n", rendered, StringComparison.Ordinal);
    }

    [CudaFact]
    public void On_cuda_the_host_tier_is_pinned_and_promotion_gives_the_same_image()
    {
        _options.Value.Device = "cuda";
        using var host = new ModelHost(_options, NullLogger<ModelHost>.Instance);
        _options.Value.AdapterBudgetBytes = 1;          // one adapter at a time on the device
        _options.Value.AdapterHostBudgetBytes = 1L << 30;
        using var residency = new AdapterResidency(host, _files, _metrics, _options, NullLogger<AdapterResidency>.Instance);
        var request = new GenerationRequest { Prompt = "a boat", Steps = 2, Width = 64, Height = 64, Adapters = [new AdapterUse(_a, 0.8)] };

        residency.EnsureAttached([_a]);
        var loaded = new StableDiffusionPipeline(host.Model).Generate(request).Images[0];
        residency.EnsureAttached([_c]);
        Assert.Equal([_a], residency.HostTier.Hashes);
        Assert.True(residency.HostTier.Bytes > 0);
        Assert.Equal(residency.HostTier.Bytes, residency.HostTier.PinnedBytes);

        File.Delete(_files.AdapterPath(_a));
        residency.EnsureAttached([_a]);
        Assert.Equal(1, residency.Promotions);
        Assert.Equal(loaded, new StableDiffusionPipeline(host.Model).Generate(request).Images[0]);
    }

    public void Dispose()
    {
        _host.Dispose();
        _metrics.Dispose();
        _services.Dispose();
        if (Directory.Exists(_data))
        {
            Directory.Delete(_data, recursive: true);
        }
    }

    private AdapterResidency Create(long deviceBudget, long hostBudget)
    {
        _options.Value.AdapterBudgetBytes = deviceBudget;
        _options.Value.AdapterHostBudgetBytes = hostBudget;
        return new AdapterResidency(_host, _files, _metrics, _options, NullLogger<AdapterResidency>.Instance);
    }

    // Bytes of the adapter's weights as the tiers count them (the model's device and dtype).
    private long Bytes(string hash)
    {
        using var adapter = LoraAdapter.Load(_files.AdapterPath(hash), _host.Model.Targets, _host.Model.Device, _host.Model.DType);
        return adapter.ByteSize;
    }

    private string Store(string source)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(source)));
        File.Copy(source, _files.AdapterPath(hash));
        return hash;
    }
}
