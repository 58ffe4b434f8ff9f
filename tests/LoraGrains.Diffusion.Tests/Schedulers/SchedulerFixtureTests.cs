using LoraGrains.Diffusion.Schedulers;
using LoraGrains.Torch;
using LoraGrains.Torch.Safetensors;
using Xunit.Abstractions;

namespace LoraGrains.Diffusion.Tests.Schedulers;

/// <summary>Every scheduler against diffusers 0.26.3 on the fixture's fake model (refs/schedulers.*).</summary>
public sealed class SchedulerFixtureTests(ITestOutputHelper output)
{
    // The schedules are reproduced bit for bit; the per-step tensors are too on libtorch's CPU kernels, and
    // this bound leaves room only for float32 rounding of a different kernel or thread count.
    private const double Tolerance = 1e-6;

    public static TheoryData<string> Cases => new(SchedulerReference.CaseNames);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Timesteps_sigmas_and_init_noise_sigma_match_diffusers(string name)
    {
        var reference = SchedulerReference.Load(name);
        using var scheduler = reference.Create();
        scheduler.SetTimesteps(SchedulerReference.Steps);

        Assert.Equal(reference.Timesteps, scheduler.Timesteps);
        Assert.Equal(reference.InitNoiseSigma, scheduler.InitNoiseSigma);
        using var file = SafetensorsFile.Open(SchedulerReference.TensorsPath);
        if (file.Contains($"sched.{name}.sigmas"))
        {
            using var sigmas = file.Load($"sched.{name}.sigmas");
            Assert.Equal(sigmas.ToArray<float>().Select(s => (double)s), scheduler.Sigmas!);
            for (var i = 0; i < reference.StepSigmas.Length; i++) Assert.Equal(reference.StepSigmas[i], scheduler.Sigmas![i]);
        }
        else
        {
            Assert.Null(scheduler.Sigmas);
        }

        if (file.Contains($"sched.{name}.timesteps"))
        {
            using var ts = file.Load($"sched.{name}.timesteps", dtype: DType.Float64);
            Assert.Equal(ts.ToArray<double>(), scheduler.Timesteps);
        }
    }

    [Fact]
    public void Alphas_cumprod_match_diffusers_bit_for_bit()
    {
        using var scheduler = new DdimScheduler(SchedulerReference.SourceConfig);
        using var file = SafetensorsFile.Open(SchedulerReference.TensorsPath);
        using var expected = file.Load("sched.alphas_cumprod");
        Assert.Equal(expected.ToArray<float>(), scheduler.AlphasCumprod);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Effective_config_and_kind_build_the_same_schedule(string name)
    {
        var reference = SchedulerReference.Load(name);
        using var fromEffective = reference.Create(reference.EffectiveConfig);
        using var fromKind = reference.Kind.Create(SchedulerReference.SourceConfig);
        Assert.Equal(reference.ClassName, fromKind.Name);
        fromEffective.SetTimesteps(SchedulerReference.Steps);
        fromKind.SetTimesteps(SchedulerReference.Steps);
        Assert.Equal(reference.Timesteps, fromEffective.Timesteps);
        Assert.Equal(reference.Timesteps, fromKind.Timesteps);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_step_matches_diffusers(string name)
    {
        var reference = SchedulerReference.Load(name);
        using var scheduler = reference.Create();
        scheduler.SetTimesteps(SchedulerReference.Steps);
        using var file = SafetensorsFile.Open(SchedulerReference.TensorsPath);
        using var generator = reference.StepSeed is { } seed ? new Generator(seed) : null;
        using var scope = TensorScope.Enter();

        // The initial sample comes from our own generator: this checks RNG parity too.
        var sample = FakeModel.InitialSample(scheduler.InitNoiseSigma);
        Assert.Equal(0, TensorAssert.MaxAbsDiff(sample, file.Load($"sched.{name}.sample0")));
        if (reference.StepSeed is { } s)
        {
            using var g = new Generator(s);
            Assert.Equal(0, TensorAssert.MaxAbsDiff(Torch.Torch.Randn([1, 4, 8, 8], g), file.Load($"sched.{name}.step00.noise")));
        }

        var worst = new Dictionary<string, (double Rel, double Abs)> { ["x_in"] = default, ["eps"] = default, ["prev_sample"] = default };
        for (var i = 0; i < scheduler.Timesteps.Count; i++)
        {
            var xIn = scheduler.ScaleModelInput(sample, i);
            var eps = FakeModel.Eps(xIn, scheduler.Timesteps[i]);
            var prev = scheduler.Step(eps, i, sample, generator);
            foreach (var (what, actual) in new[] { ("x_in", xIn), ("eps", eps), ("prev_sample", prev) })
            {
                var expected = file.Load($"sched.{name}.step{i:00}.{what}");
                var rel = TensorAssert.RelativeL2(actual, expected);
                var abs = TensorAssert.MaxAbsDiff(actual, expected);
                worst[what] = (Math.Max(worst[what].Rel, rel), Math.Max(worst[what].Abs, abs));
                Assert.True(rel <= Tolerance, $"{name} step {i} {what}: relative L2 error {rel:E3} exceeds {Tolerance:E1}");
            }

            sample = prev;
        }

        Assert.Equal(scheduler.Timesteps.Count, scheduler.StepIndex);
        foreach (var (what, (rel, abs)) in worst) output.WriteLine($"{name} {what}: max rel L2 {rel:E2}, max |Δ| {abs:E2}");
    }

    [Fact]
    public void Dpm_solver_10_steps_matches_the_txt2img_reference_schedule()
    {
        using var scheduler = SchedulerKind.DpmPlusPlus2M.Create(SchedulerReference.SourceConfig);
        scheduler.SetTimesteps(10);
        Assert.Equal([999.0, 899, 799, 699, 599, 500, 400, 300, 200, 100], scheduler.Timesteps);
    }
}
