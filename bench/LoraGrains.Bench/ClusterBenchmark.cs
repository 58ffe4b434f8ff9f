using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using LoraGrains.Client;
using LoraGrains.Cluster.Grains;
using LoraGrains.Cluster.Queue;
using LoraGrains.Cluster.Runtime;
using LoraGrains.Cluster.Storage;
using LoraGrains.Cluster.Tenancy;
using LoraGrains.Diffusion.Lora;
using LoraGrains.Diffusion.Pipeline;
using LoraGrains.Testing;
using LoraGrains.Torch;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace LoraGrains.Bench;

// Inside the namespace so that it wins over the LoraGrains.Torch namespace during name lookup.
using Torch = LoraGrains.Torch.Torch;

/// <summary>
/// Runtime overheads of the grain cluster on loopback, against a private PostgreSQL server this group starts: (a) job
/// submit→claimed latency on an idle queue, through the claiming silo and through another one; (b) queue throughput,
/// claims/s with K concurrent claimers; (c) the fan-out overhead of one distributed Composite step with (2,4,64,64)
/// latents, peers' DenoiserGrains over denoise links vs the same step computed locally; (d) memory per idle session grain.
/// The silos are real <see cref="SiloHost"/> instances hosted in this process (Kestrel on loopback ports, each with its
/// own store, model, grain runtime, worker and listener); the model is the tiny embedded SD network, so model time is
/// small and the runtime's overhead dominates. --iterations sets the samples of every case (latency: submissions per
/// path, 200; throughput: jobs per K, 2000; fanout: steps, 20 — a 64×64-latent pass of even the tiny UNet takes about a second on a CPU core; memory: grains, 10000).
/// </summary>
internal sealed class ClusterBenchmark : IBenchmarkGroup
{
    public string Name => "cluster";

    public string Description => "PostgreSQL loopback: submit→claim latency, claims/s, distributed Composite overhead, memory per session grain";

    private static readonly string[] CaseKeys = ["latency", "throughput", "fanout", "fanout-tls", "memory"];
    private static readonly int[] Claimers = [1, 4, 16];

    public int Run(string[] args)
    {
        var o = BenchOptions.Parse(args);
        foreach (var c in o.Cases.Where(c => !CaseKeys.Contains(c)))
            throw new ArgumentException($"unknown case '{c}' (cases: {string.Join(", ", CaseKeys)})");
        return RunAsync(o).GetAwaiter().GetResult();
    }

    private static async Task<int> RunAsync(BenchOptions o)
    {
        Torch.NumThreads = o.Threads;
        var report = new StringBuilder();
        Console.Error.WriteLine("cluster: starting PostgreSQL on loopback");
        // fsync off: the runtime's round trips and CPU are measured, not the disk.
        await using var postgres = await PrivatePostgres.StartAsync(["fsync=off", "full_page_writes=off", "max_connections=200"], "Command Timeout=60");
        var data = Directory.CreateTempSubdirectory("loragrains-bench-cluster-");
        try
        {
            if (o.Selected("latency")) await LatencyAsync(o, postgres, data.FullName, report);
            if (o.Selected("throughput")) await ThroughputAsync(o, postgres, report);
            if (o.Selected("fanout")) await FanOutAsync(o, postgres, data.FullName, tls: null, report);
            if (o.Selected("fanout-tls"))
            {
                using var certificates = TestCertificates.Create();
                await FanOutAsync(o, postgres, data.FullName, certificates, report);
            }

            if (o.Selected("memory")) await MemoryAsync(o, postgres, data.FullName, report);
        }
        finally
        {
            data.Delete(recursive: true);
        }

        report.AppendLine(BenchSupport.MachineInfo(o.Threads, peerTorch: null));
        var (wakeP50, wakeMax, onWakersCpu) = WakeProbe.Measure(TimeSpan.FromMilliseconds(10));
        report.AppendLine($"- a thread woken by one that keeps its CPU busy, after 10 ms idle (what a hand-over costs when the waker goes on working): " +
            $"p50 {F(wakeP50)} ms, max {F(wakeMax)} ms; {onWakersCpu:P0} of the wake-ups ran on the waker's CPU");
        report.AppendLine($"- database: {postgres.Version} (loopback, fsync off)");
        Console.Write(report.ToString());
        return 0;
    }

    // (a) One job at a time on an idle queue: submitted over HTTP through the worker silo itself or through a gateway
    // silo that runs no jobs; the claim moment is the worker's jobs-claimed counter, heard in-process.
    private static async Task LatencyAsync(BenchOptions o, PrivatePostgres postgres, string data, StringBuilder report)
    {
        var samples = o.IterationsOr(200);
        var warmup = o.WarmupOr(10);
        var connection = await postgres.CreateSchemaAsync("bench", "Maximum Pool Size=50");
        Console.Error.WriteLine($"cluster latency: 2 silos, {samples} submissions per path");
        await using var worker = await Silo("worker", connection, data, runJobs: true, o.Threads);
        await using var gateway = await Silo("gateway", connection, data, runJobs: false, o.Threads);
        var store = worker.Services.GetRequiredService<ClusterStore>();
        await store.Tenants.CreateTenantAsync(new Tenant("bench", "bench", 1, 16, 100_000));
        var key = (await store.Tenants.CreateApiKeyAsync("bench")).Secret;
        var metrics = worker.Services.GetRequiredService<SiloMetrics>();
        var gatewayMetrics = gateway.Services.GetRequiredService<SiloMetrics>();

        TaskCompletionSource<long>? stored = null, claimed = null, finished = null;
        double lastClaimQuery = double.NaN;
        var takenAsSubmitted = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument == metrics.JobsClaimed || instrument == metrics.JobsFinished || instrument == metrics.ClaimQuery
                || instrument == metrics.JobsSubmitted || instrument == gatewayMetrics.JobsSubmitted) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, _, tags, _) =>
        {
            var now = Stopwatch.GetTimestamp();
            if (instrument == metrics.JobsClaimed && tags.Length > 0 && tags[0] is { Key: "via", Value: "submit" })
            {
                Interlocked.Increment(ref takenAsSubmitted);
            }

            // JobsSubmitted is counted right after the submit transaction committed: the job is stored and announced.
            var moment = instrument == metrics.JobsClaimed ? claimed : instrument == metrics.JobsFinished ? finished : stored;
            Volatile.Read(ref moment)?.TrySetResult(now);
        });
        listener.SetMeasurementEventCallback<double>((_, ms, _, _) => Volatile.Write(ref lastClaimQuery, ms));
        listener.Start();

        report.AppendLine("### Cluster: submit → claimed latency (idle queue)");
        report.AppendLine();
        report.AppendLine($"In-process silos on PostgreSQL; the worker polls every {worker.Options.PollInterval.TotalMilliseconds:F0} ms (the default) as a safety net. " +
            "**Job stored → claimed**: the submit transaction has committed (the job is durable and announced) → the worker's claim transaction has committed, " +
            "or, for a job the idle worker's own silo leased to it in the submit's transaction, → the worker has been handed the job; " +
            "this is the queue's own latency. Also shown: from the moment the client's HTTP submit returned, and end to end from the moment the client starts it " +
            $"(the API's authentication and the submit's own round trips included). {samples} jobs per path, one at a time, each run to its end (1 step, 64×64) before the next.");
        report.AppendLine();
        report.AppendLine("| submitted through | stored → claimed p50 ms | p99 ms | submit returned → claimed p50 ms | p99 ms | client starts submit → claimed p50 ms | p99 ms | HTTP submit p50 ms | claim transaction p50 ms | taken as submitted |");
        report.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (label, silo) in new[] { ("the claiming silo", worker), ("another silo (NOTIFY/LISTEN)", gateway) })
        {
            using var client = new LoraGrainsClient(silo.Address, key);
            var total = new List<double>();
            var submit = new List<double>();
            var claim = new List<double>();
            var after = new List<double>();
            var queue = new List<double>();
            var takenBefore = 0;
            for (var i = 0; i < warmup + samples; i++)
            {
                Volatile.Write(ref stored, new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously));
                Volatile.Write(ref claimed, new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously));
                Volatile.Write(ref finished, new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously));
                Volatile.Write(ref lastClaimQuery, double.NaN);
                if (i == warmup) takenBefore = Volatile.Read(ref takenAsSubmitted);
                var t0 = Stopwatch.GetTimestamp();
                await client.SubmitAsync(new JobRequest { Prompt = "bench", Steps = 1, Width = 64, Height = 64, Seed = (ulong)i });
                var t1 = Stopwatch.GetTimestamp();
                var t2 = await claimed!.Task.WaitAsync(TimeSpan.FromSeconds(30));
                var ts = await stored!.Task.WaitAsync(TimeSpan.FromSeconds(30));
                var claimMs = Volatile.Read(ref lastClaimQuery);
                await finished!.Task.WaitAsync(TimeSpan.FromSeconds(60));
                // The worker is back in its idle wait before the next submission.
                await Task.Delay(20);
                if (i < warmup) continue;
                total.Add(Stopwatch.GetElapsedTime(t0, t2).TotalMilliseconds);
                submit.Add(Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds);
                if (!double.IsNaN(claimMs)) claim.Add(claimMs);
                after.Add(Stopwatch.GetElapsedTime(t1, t2).TotalMilliseconds);
                queue.Add(Stopwatch.GetElapsedTime(ts, t2).TotalMilliseconds);
            }

            report.AppendLine($"| {label} | **{F(BenchSupport.Percentile(queue, 50))}** | **{F(BenchSupport.Percentile(queue, 99))}** | {F(BenchSupport.Percentile(after, 50))} | {F(BenchSupport.Percentile(after, 99))} | " +
                $"{F(BenchSupport.Percentile(total, 50))} | {F(BenchSupport.Percentile(total, 99))} | {F(BenchSupport.Percentile(submit, 50))} | {(claim.Count > 0 ? F(BenchSupport.Percentile(claim, 50)) : "—")} | {Volatile.Read(ref takenAsSubmitted) - takenBefore} of {samples} |");
        }

        report.AppendLine();
    }

    // (b) N jobs queued for 4 tenants, then K claimers — each with its own store (connection pool), like K silos — claim
    // and complete until the queue is empty; no model runs.
    private static async Task ThroughputAsync(BenchOptions o, PrivatePostgres postgres, StringBuilder report)
    {
        var jobs = o.IterationsOr(2000);
        report.AppendLine("### Cluster: queue throughput");
        report.AppendLine();
        report.AppendLine($"{jobs} queued jobs of 4 equal-weight tenants; K claimers, each with its own connection pool (like K silos), " +
            "claim and complete until the queue is empty (no model runs). Submit: 4 concurrent submitters filling the queue.");
        report.AppendLine();
        report.AppendLine("| K claimers | claims/s | claim transaction p50 ms | p99 ms | submits/s |");
        report.AppendLine("|---:|---:|---:|---:|---:|");
        var lease = TimeSpan.FromSeconds(60);
        const string Sha = "0000000000000000000000000000000000000000000000000000000000000000";
        foreach (var k in Claimers)
        {
            Console.Error.WriteLine($"cluster throughput: {jobs} jobs, K = {k}");
            var connection = await postgres.CreateSchemaAsync("bench", "Maximum Pool Size=50");
            var options = new ClusterStoreOptions { Provider = ClusterDatabaseProvider.PostgreSql, ConnectionString = connection };
            await using var admin = await ClusterStore.OpenAsync(options);
            string[] tenants = ["t0", "t1", "t2", "t3"];
            foreach (var t in tenants) await admin.Tenants.CreateTenantAsync(new Tenant(t, t, 1, 100_000, 100_000));
            var submitWatch = Stopwatch.StartNew();
            await Task.WhenAll(tenants.Select(async t =>
            {
                for (var i = 0; i < jobs / tenants.Length; i++)
                    await admin.Jobs.SubmitAsync(new JobSubmission(t, null, """{"prompt":"bench","steps":1}""", []));
            }));
            var submitted = jobs / tenants.Length * tenants.Length;
            var submitsPerSecond = submitted / submitWatch.Elapsed.TotalSeconds;

            var stores = new List<ClusterStore>();
            for (var i = 0; i < k; i++) stores.Add(await ClusterStore.OpenAsync(options));
            try
            {
                // Open each pool's first connection before the clock starts.
                foreach (var s in stores) _ = await s.Tenants.GetTenantAsync("t0");
                var claimTimes = new ConcurrentBag<double>();
                var done = 0;
                var watch = Stopwatch.StartNew();
                await Task.WhenAll(stores.Select((s, i) => Task.Run(async () =>
                {
                    var silo = $"claimer-{i}";
                    while (true)
                    {
                        var started = Stopwatch.GetTimestamp();
                        var job = await s.Jobs.ClaimAsync(silo, [], lease);
                        if (job is null) return;
                        claimTimes.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                        await s.Jobs.CompleteAsync(job.JobId, silo, "/dev/null", Sha);
                        Interlocked.Increment(ref done);
                    }
                })));
                var seconds = watch.Elapsed.TotalSeconds;
                if (done != submitted) throw new InvalidOperationException($"claimed {done} of {submitted} jobs");
                var times = claimTimes.ToList();
                report.AppendLine($"| {k} | {done / seconds:F0} | {F(BenchSupport.Percentile(times, 50))} | {F(BenchSupport.Percentile(times, 99))} | {submitsPerSecond:F0} |");
            }
            finally
            {
                foreach (var s in stores) await s.DisposeAsync();
            }
        }

        report.AppendLine();
    }

    // (c) One Composite step of two adapters, as the pipeline computes it (one UNet pass per adapter, both guidance
    // branches, then the mean): locally, or with each pass evaluated by a peer silo's DenoiserGrain over a denoise link
    // (over TLS when given certificates: the peers' URLs are https and the coordinator trusts their CA).
    private static async Task FanOutAsync(BenchOptions o, PrivatePostgres postgres, string data, TestCertificates? tls, StringBuilder report)
    {
        var steps = o.IterationsOr(20);
        var warmup = o.WarmupOr(10);
        var connection = await postgres.CreateSchemaAsync("bench", "Maximum Pool Size=50");
        Console.Error.WriteLine($"cluster fanout: coordinator + 2 peers, {steps} steps");
        await using var coordinator = await Silo("coordinator", connection, data, runJobs: false, o.Threads, tls);
        await using var peer1 = await Silo("peer-1", connection, data, runJobs: false, o.Threads, tls);
        await using var peer2 = await Silo("peer-2", connection, data, runJobs: false, o.Threads, tls);
        var store = coordinator.Services.GetRequiredService<ClusterStore>();
        await store.Tenants.CreateTenantAsync(new Tenant("bench", "bench", 1, 16, 1000));
        var key = (await store.Tenants.CreateApiKeyAsync("bench")).Secret;
        var loras = Path.Combine(ModelHost.EmbeddedModelPath, "loras");
        string[] hashes;
        using (var client = new LoraGrainsClient(peer1.Address, key))
        {
            hashes =
            [
                (await client.RegisterAdapterAsync(Path.Combine(loras, "lora_a_kohya.safetensors"))).Hash,
                (await client.RegisterAdapterAsync(Path.Combine(loras, "lora_b_locon_kohya.safetensors"))).Hash,
            ];
        }

        var live = await store.Membership.ListLiveAsync(TimeSpan.FromMinutes(1));
        var placement = DenoiserPlacement.Place(hashes, live, "coordinator");
        if (placement.Values.Any(p => p is null)) throw new InvalidOperationException("a pass was not placed on a peer");
        var model = coordinator.Services.GetRequiredService<ModelHost>().Model;
        coordinator.Services.GetRequiredService<AdapterResidency>().EnsureAttached(hashes);
        using var remote = new RemoteAdapterDenoiser(
            placement, SiloSecret, SiloPeers.CallTimeout, coordinator.Services.GetRequiredService<SiloMetrics>(), NullLogger.Instance,
            coordinator.Services.GetRequiredService<SiloTls>());
        double[] scales = [0.9, 0.6];

        using var generator = new Generator(7UL);
        // One branch's latents; the UNet evaluates them for both guidance branches, (2,4,64,64), as the pipeline does.
        using var latents = Torch.Randn([1, 4, 64, 64], generator, DType.Float32, model.Device);
        using var sample = Torch.Cat([latents, latents]);
        using var states = Torch.Randn([2, 77, model.UNet.Config.CrossAttentionDim[0]], generator, DType.Float32, model.Device);
        using var timestep = Torch.Scalar(500, DType.Float32, model.Device);
        var overheads = new List<double>();
        var criticalPath = new List<double>();
        void Step(bool distributed)
        {
            var overheadBefore = remote.OverheadMs;
            remote.TakePeerTimes();
            var clock = Stopwatch.StartNew();
            using var scope = TensorScope.Enter();
            Tensor? sum = null;
            // As StableDiffusionPipeline's sequential Composite: every remote pass sent at once, then collected.
            var pending = distributed ? remote.Start(hashes, scales, latents, timestep, states) : null;
            for (var a = 0; a < hashes.Length; a++)
            {
                Tensor noise;
                if (pending?[a] is { } pass)
                {
                    // As the pipeline waits for a peer's pass.
                    noise = (ThreadWait.Result(pass) ?? throw new InvalidOperationException("a peer declined a pass")).ToTensor(model.Device);
                }
                else
                {
                    using var activation = AdapterActivation.Uniform([hashes[a]], [scales[a]]);
                    model.Adapters.Activate(LoraComponent.Unet, activation);
                    noise = model.UNet.Forward(sample, timestep, states);
                }

                sum = sum is null ? noise : sum + noise;
            }

            model.Adapters.Deactivate(LoraComponent.Unet);
            _ = (sum! / hashes.Length).ToArray<float>();
            if (distributed)
            {
                overheads.Add(remote.OverheadMs - overheadBefore);
                // The passes run at once: what the fan-out adds to the step is its wall time beyond the slowest pass.
                criticalPath.Add(clock.Elapsed.TotalMilliseconds - remote.TakePeerTimes().DefaultIfEmpty(0).Max());
            }
        }

        var (local, distributed) = BenchSupport.InterleavedSamples(() => Step(false), () => Step(true), warmup, steps);
        var localMs = local.Select(s => s.Ms).ToList();
        var distributedMs = distributed.Select(s => s.Ms).ToList();
        var difference = distributed.Zip(local, (d, l) => d.Ms - l.Ms).ToList();
        // The warm-up steps come first; the timed ones are the last `steps`.
        var overhead = overheads.Skip(overheads.Count - steps).ToList();
        var added = criticalPath.Skip(criticalPath.Count - steps).ToList();
        report.AppendLine($"### Cluster: distributed Composite fan-out overhead per step{(tls is null ? string.Empty : ", denoise links over TLS")}");
        report.AppendLine();
        report.AppendLine($"Latents (2,4,64,64) float32 (both guidance branches of a 512×512 image), text states (2,77,{model.UNet.Config.CrossAttentionDim[0]}), " +
            $"2 adapters, tiny UNet; each distributed pass is one message on a denoise link (an HTTP/1.1 connection upgraded for the job; one calling thread per peer) to a peer silo's DenoiserGrain " +
            "(the body carries one branch's latents (1,4,64,64), which the peer stacks for both branches, the timestep and the text states; the answer is the (2,4,64,64) noise) " +
            $"({string.Join(", ", placement.Select(p => p.Value!.SiloId))}), all passes of a step sent at once, as the pipeline sends them. " +
            $"{steps} steps of each kind, interleaved. Fan-out overhead per step = the distributed step's wall time − the slowest of its passes' " +
            "own time on its peer (as the peer's answer reports it): what sending the passes out adds to the step's critical path " +
            "(serialisation, transport, waiting). Transport per pass = round trip on the coordinator − that pass's peer time. " +
            "The local step runs its passes one after another on the coordinator, so the two step times compare a fanned-out step with a local one.");
        report.AppendLine();
        report.AppendLine("| step | p50 ms | p99 ms |");
        report.AppendLine("|---|---:|---:|");
        report.AppendLine($"| local (2 UNet passes) | {F(BenchSupport.Percentile(localMs, 50))} | {F(BenchSupport.Percentile(localMs, 99))} |");
        report.AppendLine($"| distributed (2 passes on peers) | {F(BenchSupport.Percentile(distributedMs, 50))} | {F(BenchSupport.Percentile(distributedMs, 99))} |");
        report.AppendLine($"| distributed − local, same round | {F(BenchSupport.Percentile(difference, 50))} | {F(BenchSupport.Percentile(difference, 99))} |");
        report.AppendLine($"| **fan-out overhead per step** (distributed step − its slowest pass on a peer) | **{F(BenchSupport.Percentile(added, 50))}** | **{F(BenchSupport.Percentile(added, 99))}** |");
        report.AppendLine($"| transport per pass (round trip − peer time, summed over the step / passes) | {F(BenchSupport.Percentile(overhead, 50) / hashes.Length)} | {F(BenchSupport.Percentile(overhead, 99) / hashes.Length)} |");
        report.AppendLine();
        _ = peer2;
    }

    // (d) Many SessionGrain activations, each holding its session as a real idle session grain does after a read.
    private static async Task MemoryAsync(BenchOptions o, PrivatePostgres postgres, string data, StringBuilder report)
    {
        var grains = o.IterationsOr(10_000);
        var connection = await postgres.CreateSchemaAsync("bench", "Maximum Pool Size=50");
        Console.Error.WriteLine($"cluster memory: {grains} session grains");
        await using var silo = await Silo("memory", connection, data, runJobs: false, o.Threads);
        var store = silo.Services.GetRequiredService<ClusterStore>();
        var runtime = silo.Services.GetRequiredService<GrainRuntime>();
        await store.Tenants.CreateTenantAsync(new Tenant("bench", "bench", 1, 16, 1000));
        const string Settings = """{"steps":20,"width":512,"height":512,"guidanceScale":7.5}""";
        var next = 0;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
        {
            while (Interlocked.Increment(ref next) is var i && i <= grains + 100)
                await store.Sessions.CreateAsync("bench", $"session-{i}", Settings, "[]");
        })));

        async Task ActivateAsync(int from, int to)
        {
            var cursor = from - 1;
            await Task.WhenAll(Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
            {
                while (Interlocked.Increment(ref cursor) is var i && i <= to)
                    _ = await runtime.CallAsync<SessionGrain, SessionRecord?>(SessionGrain.KeyOf("bench", $"session-{i}"), g => g.GetAsync(CancellationToken.None));
            })));
        }

        // A hundred first, so that code paths, pools and caches are warm before the baseline.
        await ActivateAsync(1, 100);
        var (heap0, rss0) = Settle();
        var before = runtime.ActivationCount;
        await ActivateAsync(101, 100 + grains);
        var (heap1, rss1) = Settle();
        var added = runtime.ActivationCount - before;
        report.AppendLine("### Cluster: memory per idle session grain");
        report.AppendLine();
        report.AppendLine($"{added} SessionGrain activations through the silo's GrainRuntime, each after one read of its session " +
            "(so it caches its record, as an idle session grain does); managed heap after a full blocking GC, and resident set.");
        report.AppendLine();
        report.AppendLine("| grains | managed heap Δ MiB | bytes per grain (heap) | resident set Δ MiB | bytes per grain (RSS) |");
        report.AppendLine("|---:|---:|---:|---:|---:|");
        report.AppendLine($"| {added} | {F((heap1 - heap0) / 1048576.0)} | {(heap1 - heap0) / (double)added:F0} | " +
            $"{BenchSupport.Show(rss1 - rss0, "F1")} | {BenchSupport.Show((rss1 - rss0) * 1048576.0 / added, "F0")} |");
        report.AppendLine();
    }

    private static (long Heap, double? RssMiB) Settle()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        return (GC.GetTotalMemory(forceFullCollection: true), BenchSupport.StatusMiB("VmRSS"));
    }

    private const string SiloSecret = "bench-cluster-secret";

    // A silo in this process with a peer URL, the benchmark's cluster secret and 1 s heartbeats.
    private static Task<InProcessSilo> Silo(string siloId, string connection, string data, bool runJobs, int threads, TestCertificates? tls = null) =>
        InProcessSilo.StartAsync(siloId, connection, data, o =>
        {
            o.PeerUrls = $"{(tls is null ? "http" : "https")}://127.0.0.1:{LoopbackPort.Free()}";
            o.CertificatePath = tls?.CertificatePath;
            o.CertificateKeyPath = tls?.KeyPath;
            o.PeerCertificateAuthorityPath = tls?.AuthorityPath;
            o.ClusterSecret = SiloSecret;
            o.RunJobs = runJobs;
            o.Threads = threads;
            o.HeartbeatInterval = TimeSpan.FromSeconds(1);
        });

    private static string F(double ms) => ms.ToString(ms >= 100 ? "F0" : "F2", CultureInfo.InvariantCulture);
}
