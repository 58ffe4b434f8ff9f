using LoraGrains.Client;
using LoraGrains.Cluster.Grains;
using LoraGrains.Diffusion.Composition;

namespace LoraGrains.Cluster.Tests;

/// <summary>The job request carries every option of <c>generate</c> to the engine, and names the field of a bad one.</summary>
public sealed class JobRequestResolverTests
{
    private static readonly string HashA = new('a', 64);
    private static readonly string HashB = new('b', 64);

    [Fact]
    public void Every_generation_option_reaches_the_engine_request()
    {
        var resolved = JobRequestResolver.Resolve(new JobRequest
        {
            Prompt = "a boat",
            Method = "fusion",
            FusionTemperature = 0.25,
            ClipSkip = 2,
            BatchSize = 3,
            BatchedComposite = false,
            Adapters = [new JobAdapter(HashA, 0.9, "0=0;0.5=1", "pink eyes", "style"), new JobAdapter(HashB)],
        }, session: null, nativeSize: 64);
        var generation = JobRequestResolver.ToGeneration(resolved);

        Assert.Equal((CompositionMethod.Fusion, 0.25, 2, 3, false), (generation.Method, generation.FusionTemperature, generation.ClipSkip, generation.BatchSize, generation.BatchedComposite));
        Assert.Equal(new AdapterUse(HashA, 0.9, generation.Adapters[0].Schedule, "pink eyes", "style"), generation.Adapters[0]);
        Assert.Equal("0=0;0.5=1", generation.Adapters[0].Schedule!.ToString());
        Assert.Equal(new AdapterUse(HashB), generation.Adapters[1]);

        // Defaults, and Composite across silos always runs per-adapter passes.
        var plain = JobRequestResolver.ToGeneration(JobRequestResolver.Resolve(new JobRequest { Prompt = "x", DistributedComposite = false }, null, 64));
        Assert.Equal((0.1, 0, 1, true), (plain.FusionTemperature, plain.ClipSkip, plain.BatchSize, plain.BatchedComposite));
        var distributed = JobRequestResolver.ToGeneration(JobRequestResolver.Resolve(new JobRequest { Prompt = "x", DistributedComposite = true, BatchedComposite = true }, null, 64));
        Assert.False(distributed.BatchedComposite);
    }

    [Theory]
    [InlineData("schedule", "adapters", "the schedule of aaaaaaaaaaaa is invalid: weight schedule keyframe '0=x'")]
    [InlineData("key", "adapters", "the fusion key of aaaaaaaaaaaa may be at most 4096 characters (got 5000)")]
    [InlineData("name", "adapters", "the name of aaaaaaaaaaaa must be non-blank")]
    [InlineData("temperature", "fusionTemperature", "fusion temperature must be in (0, 100] (got 0)")]
    [InlineData("clipSkip", "clipSkip", "clip skip must be between 0 and 10 (got 11)")]
    [InlineData("batch", "batchSize", "batch size must be between 1 and 16 (got 17)")]
    public void A_bad_option_is_refused_naming_its_field(string problem, string field, string expected)
    {
        var request = new JobRequest { Prompt = "a boat" };
        request = problem switch
        {
            "schedule" => request with { Adapters = [new JobAdapter(HashA, Schedule: "0=x")] },
            "key" => request with { Adapters = [new JobAdapter(HashA, FusionKey: new string('k', 5000))] },
            "name" => request with { Adapters = [new JobAdapter(HashA, Name: " ")] },
            "temperature" => request with { FusionTemperature = 0 },
            "clipSkip" => request with { ClipSkip = 11 },
            _ => request with { BatchSize = 17 },
        };

        var e = Assert.ThrowsAny<ArgumentException>(() => JobRequestResolver.Resolve(request, null, 64));
        Assert.Equal(field, e.ParamName);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }
}
