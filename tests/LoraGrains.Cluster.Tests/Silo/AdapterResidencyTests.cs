using System.Security.Cryptography;
using LoraGrains.Cluster.Runtime;
using LoraGrains.Cluster.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace LoraGrains.Cluster.Tests.Silo;

/// <summary>The adapter residency budget: least recently used adapters are detached past it and reloaded on demand.</summary>
public sealed class AdapterResidencyTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), $"lg-residency-{Guid.NewGuid():N}");

    [Fact]
    public void Least_recently_used_adapter_is_evicted_past_the_budget_and_reloaded_on_demand()
    {
        var options = Options.Create(new SiloOptions { DataDirectory = _data, Threads = 1 });
        var files = new SiloFiles(options);
        var a = Store(files, TestAdapters.LoraA);
        var b = Store(files, TestAdapters.LoraB);
        var sizeA = new FileInfo(files.AdapterPath(a)).Length;
        var sizeB = new FileInfo(files.AdapterPath(b)).Length;
        options.Value.AdapterBudgetBytes = Math.Max(sizeA, sizeB) + 1;
        using var host = new ModelHost(options, NullLogger<ModelHost>.Instance);
        var residency = new AdapterResidency(host, files, options, NullLogger<AdapterResidency>.Instance);

        residency.EnsureAttached([a]);
        Assert.Equal([a], residency.ResidentHashes);
        Assert.Equal([a], host.Model.Adapters.Ids);

        residency.EnsureAttached([b]);
        Assert.Equal([b], residency.ResidentHashes);
        Assert.Equal([b], host.Model.Adapters.Ids);
        Assert.Equal(1, residency.Evictions);
        Assert.Equal(sizeB, residency.ResidentBytes);

        // A run that needs both keeps both, over budget, rather than evicting what it needs.
        residency.EnsureAttached([a, b]);
        Assert.Equal(new[] { a, b }.Order(), residency.ResidentHashes.Order());

        // The next run needs only A: the tier is trimmed back to the budget, evicting B.
        residency.EnsureAttached([a]);
        Assert.Equal([a], residency.ResidentHashes);
        Assert.Equal([a], host.Model.Adapters.Ids);
        Assert.Equal(2, residency.Evictions);
    }

    public void Dispose()
    {
        if (Directory.Exists(_data))
        {
            Directory.Delete(_data, recursive: true);
        }
    }

    private static string Store(SiloFiles files, string source)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(source)));
        File.Copy(source, files.AdapterPath(hash));
        return hash;
    }
}
