using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using LoraGrains.Client;
using LoraGrains.Cluster.Grains;
using LoraGrains.Cluster.Runtime;
using LoraGrains.Cluster.Tests.Infrastructure;
using LoraGrains.Diffusion.Composition;
using LoraGrains.Diffusion.Imaging;
using LoraGrains.Diffusion.Lora;
using LoraGrains.Diffusion.Pipeline;
using LoraGrains.Testing;
using LoraGrains.Torch;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using System.Diagnostics.Metrics;

namespace LoraGrains.Cluster.Tests.Silo;

/// <summary>Composite across silos: each adapter's UNet passes run on a peer's DenoiserGrain; the result equals local Composite.</summary>
[Collection(PostgresCollection.Name)]
public sealed class CompositeAcrossSilosTests(PostgresServer server)
{
    [Fact]
    public async Task Passes_evaluated_on_a_peer_silo_equal_local_composite_within_1e_4()
    {
        await using var cluster = await SiloCluster.CreateAsync(server);
        var key = await cluster.CreateTenantAsync("tenant-cp");
        var peer = await cluster.StartSiloAsync("peer-1", "--no-jobs");
        var client = cluster.Client(peer, key);
        var a = await client.RegisterAdapterAsync(TestAdapters.LoraA);
        var b = await client.RegisterAdapterAsync(TestAdapters.LoraB);
        var live = await cluster.Store.Membership.ListLiveAsync(TimeSpan.FromMinutes(1));
        var placement = DenoiserPlacement.Place([a.Hash, b.Hash], live, "coordinator");
        Assert.All(placement.Values, p => Assert.Equal("peer-1", p!.SiloId));
        Assert.StartsWith("http://127.0.0.1:", placement[a.Hash]!.Address, StringComparison.Ordinal);

        Torch.Torch.NumThreads = 1;
        using var model = StableDiffusionModel.Load(ModelHost.EmbeddedModelPath);
        using var loraA = LoraAdapter.Load(TestAdapters.LoraA, model.Targets, model.Device, model.DType);
        using var loraB = LoraAdapter.Load(TestAdapters.LoraB, model.Targets, model.Device, model.DType);
        model.Adapters.Attach(a.Hash, loraA);
        model.Adapters.Attach(b.Hash, loraB);
        var request = new GenerationRequest
        {
            Prompt = "masterpiece, a girl in a kimono",
            Steps = 6,
            Width = 64,
            Height = 64,
            Seed = 5,
            Method = CompositionMethod.Composite,
            Adapters = [new AdapterUse(a.Hash, 0.9), new AdapterUse(b.Hash, 0.6)],
        };

        var local = new FinalLatents();
        new StableDiffusionPipeline(model).Generate(request, observer: local);
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var metrics = new SiloMetrics(services.GetRequiredService<IMeterFactory>());
        using var remote = new RemoteAdapterDenoiser(placement, SiloProcess.ClusterSecret, TimeSpan.FromSeconds(30), metrics, NullLogger.Instance);
        var spread = new FinalLatents();
        new StableDiffusionPipeline(model, remote).Generate(request, observer: spread);

        Assert.Equal(request.Steps * 2, remote.RemotePasses);
        Assert.Equal(local.Values.Length, spread.Values.Length);
        var maxDiff = local.Values.Zip(spread.Values, (x, y) => Math.Abs(x - y)).Max();
        Assert.True(maxDiff <= 1e-4, $"max |local - across silos| = {maxDiff}");

        // A peer that cannot be reached is given up at once: its adapter's passes run locally, the result is the same.
        var halfGone = new Dictionary<string, Membership.SiloRecord?>
        {
            [a.Hash] = placement[a.Hash],
            [b.Hash] = placement[b.Hash]! with { SiloId = "gone", Address = "http://127.0.0.1:1" },
        };
        using var partly = new RemoteAdapterDenoiser(halfGone, SiloProcess.ClusterSecret, TimeSpan.FromSeconds(30), metrics, NullLogger.Instance);
        var fallback = new FinalLatents();
        new StableDiffusionPipeline(model, partly).Generate(request, observer: fallback);
        Assert.Equal(request.Steps, partly.RemotePasses);
        var fallbackDiff = local.Values.Zip(fallback.Values, (x, y) => Math.Abs(x - y)).Max();
        Assert.True(fallbackDiff <= 1e-4, $"max |local - with one peer gone| = {fallbackDiff}");
        model.Adapters.Detach(a.Hash);
        model.Adapters.Detach(b.Hash);
    }

    [Fact]
    public async Task A_distributed_composite_job_fans_out_and_matches_the_local_job()
    {
        await using var cluster = await SiloCluster.CreateAsync(server);
        var key = await cluster.CreateTenantAsync("tenant-cj");
        var worker = await cluster.StartSiloAsync("coord-1");
        var peer = await cluster.StartSiloAsync("peer-2", "--no-jobs");
        var client = cluster.Client(worker, key);
        await RunLocallyAndAcrossSilosAsync(cluster, worker, client, await TwoAdapterJobAsync(client, steps: 5, seed: 9));
        Assert.NotNull(peer);
    }

    [Fact]
    public async Task A_peer_that_stops_mid_job_leaves_its_passes_to_the_coordinator_and_the_image_is_the_same()
    {
        await using var cluster = await SiloCluster.CreateAsync(server);
        var key = await cluster.CreateTenantAsync("tenant-cs");
        var worker = await cluster.StartSiloAsync("coord-s");
        var peer = await cluster.StartSiloAsync("peer-s", "--no-jobs");
        var client = cluster.Client(worker, key);
        // Enough steps that the peer stops with most of the job still to run.
        var request = await TwoAdapterJobAsync(client, steps: 150, seed: 13);
        var localJob = await (await client.SubmitAsync(request)).WaitAsync();
        var spreadJob = await client.SubmitAsync(request with { DistributedComposite = true });
        await foreach (var progress in spreadJob.WatchAsync())
        {
            if (progress.Step >= 3 || progress.IsFinal) break;
        }

        // SIGTERM: the peer ends its denoise links at once (it must not wait for the job to end) and exits.
        await peer.StopAsync();
        var spread = await spreadJob.WaitAsync();
        Assert.True(spread.Status == "succeeded", $"{spread}\n{cluster.Logs}");
        Assert.InRange(PassesOnPeers(worker), 1, (request.Steps!.Value * 2) - 1);
        Assert.Contains("unreachable for Composite passes", worker.Output, StringComparison.Ordinal);
        AssertSameImage(await client.GetImageAsync(localJob.JobId), await spreadJob.GetImageAsync());
    }

    [Fact]
    public async Task Over_https_the_api_speaks_http2_and_passes_cross_tls_links_to_trusted_peers_only()
    {
        using var tls = TestCertificates.Create();
        await using var cluster = await SiloCluster.CreateAsync(server);
        var key = await cluster.CreateTenantAsync("tenant-tls");
        var worker = await cluster.StartHttpsSiloAsync("coord-tls", tls, tls.PeerTrustArguments);
        await cluster.StartHttpsSiloAsync("peer-tls", tls, [.. tls.PeerTrustArguments, "--no-jobs"]);

        // The tenant API negotiates HTTP/2 by ALPN, and still serves HTTP/1.1.
        foreach (var version in new[] { HttpVersion.Version20, HttpVersion.Version11 })
        {
            using var http = new HttpClient(tls.TrustingHandler());
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(worker.Address, "v1/adapters"))
            {
                Version = version,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            using var response = await http.SendAsync(request);
            Assert.Equal((HttpStatusCode.OK, version), (response.StatusCode, response.Version));
        }

        using var client = new LoraGrainsClient(new HttpClient(tls.TrustingHandler()) { BaseAddress = worker.Address }, key);
        var job = await TwoAdapterJobAsync(client, steps: 4, seed: 21);
        var localImage = await RunLocallyAndAcrossSilosAsync(cluster, worker, client, job);

        // A coordinator that does not trust the peers' CA gives them up at the handshake: every pass runs locally and the
        // image is the same. The first coordinator leaves, so that this one runs the job.
        await worker.StopAsync();
        var wary = await cluster.StartHttpsSiloAsync("coord-wary", tls);
        using var waryClient = new LoraGrainsClient(new HttpClient(tls.TrustingHandler()) { BaseAddress = wary.Address }, key);
        var waryJob = await (await waryClient.SubmitAsync(job with { DistributedComposite = true })).WaitAsync();
        Assert.True(waryJob.Status == "succeeded", $"{waryJob}\n{cluster.Logs}");
        Assert.Equal(0, PassesOnPeers(wary));
        Assert.Contains("unreachable for Composite passes", wary.Output, StringComparison.Ordinal);
        Assert.Contains("certificate", wary.Output, StringComparison.OrdinalIgnoreCase);
        AssertSameImage(localImage, await waryClient.GetImageAsync(waryJob.JobId));
    }

    // Registers the two test adapters through the client; a Composite job of both.
    private static async Task<JobRequest> TwoAdapterJobAsync(LoraGrainsClient client, int steps, ulong seed)
    {
        var a = await client.RegisterAdapterAsync(TestAdapters.LoraA);
        var b = await client.RegisterAdapterAsync(TestAdapters.LoraB);
        return new JobRequest
        {
            Prompt = "masterpiece, a girl in a kimono",
            Steps = steps,
            Width = 64,
            Height = 64,
            Seed = seed,
            Adapters = [new JobAdapter(a.Hash, 0.9), new JobAdapter(b.Hash, 0.6)],
        };
    }

    // Runs the job locally, then across silos, both on `coordinator`: the distributed run succeeds with every pass on a
    // peer and the same image. Returns the local image.
    private static async Task<byte[]> RunLocallyAndAcrossSilosAsync(SiloCluster cluster, SiloProcess coordinator, LoraGrainsClient client, JobRequest request)
    {
        var localJob = await (await client.SubmitAsync(request)).WaitAsync();
        var spreadJob = await (await client.SubmitAsync(request with { DistributedComposite = true })).WaitAsync();
        Assert.True(spreadJob.Status == "succeeded", $"{spreadJob}\n{cluster.Logs}");
        Assert.Equal(request.Steps!.Value * 2, PassesOnPeers(coordinator));
        var localImage = await client.GetImageAsync(localJob.JobId);
        AssertSameImage(localImage, await client.GetImageAsync(spreadJob.JobId));
        return localImage;
    }

    // The count CompositionGrain logs when a distributed job ends.
    private static int PassesOnPeers(SiloProcess worker) =>
        int.Parse(Regex.Match(worker.Output, @"(\d+) Composite passes ran on peers").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

    private static void AssertSameImage(byte[] local, byte[] spread)
    {
        var (localImage, spreadImage) = (PngDecoder.Decode(local), PngDecoder.Decode(spread));
        Assert.Equal(localImage.Pixels.Length, spreadImage.Pixels.Length);
        Assert.True(localImage.Pixels.Zip(spreadImage.Pixels, (x, y) => Math.Abs(x - y)).Max() <= 1, "images differ by more than rounding");
    }

    private sealed class FinalLatents : IDenoiseObserver
    {
        public float[] Values { get; private set; } = [];

        public void OnInitialLatents(Tensor latents)
        {
        }

        public void OnStep(int step, double timestep, Tensor latents, IReadOnlyList<string> activeAdapters) =>
            Values = latents.To(DType.Float32).ToArray<float>();
    }
}
