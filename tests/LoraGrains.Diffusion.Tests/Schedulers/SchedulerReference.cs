using System.Text.Json;
using LoraGrains.Diffusion.Schedulers;

namespace LoraGrains.Diffusion.Tests.Schedulers;

/// <summary>One case of refs/schedulers.json: how diffusers built the scheduler and what it produced.</summary>
internal sealed record SchedulerReference(
    string Case,
    string ClassName,
    SchedulerConfig Extra,
    SchedulerConfig EffectiveConfig,
    double InitNoiseSigma,
    double[] Timesteps,
    double?[] StepSigmas)
{
    public const int Steps = 20;

    public static IReadOnlyList<string> CaseNames { get; } =
        ["ddim", "euler", "euler_karras", "euler_ancestral", "dpmpp_2m", "dpmpp_2m_karras", "pndm"];

    /// <summary>scheduler/scheduler_config.json (SD 1.5's).</summary>
    public static SchedulerConfig SourceConfig => SchedulerConfig.Load(Fixtures.Path("scheduler", "scheduler_config.json"));

    public static string TensorsPath => Fixtures.Path("refs", "schedulers.safetensors");

    public static SchedulerReference Load(string name)
    {
        // Python's json.dump writes lambda_min_clipped as a bare -Infinity, which SchedulerConfig.Parse accepts.
        using var doc = JsonDocument.Parse(File.ReadAllText(Fixtures.Path("refs", "schedulers.json")).Replace("-Infinity", "\"-Infinity\"", StringComparison.Ordinal));
        var c = doc.RootElement.GetProperty("cases").GetProperty(name);
        var extra = SchedulerConfig.Parse(c.GetProperty("extra_kwargs").GetRawText());
        var effective = SchedulerConfig.Parse(c.GetProperty("config").GetRawText());
        return new SchedulerReference(
            name,
            c.GetProperty("class").GetString()!,
            extra,
            effective,
            c.GetProperty("init_noise_sigma").GetDouble(),
            c.GetProperty("timesteps").EnumerateArray().Select(e => e.GetDouble()).ToArray(),
            c.GetProperty("steps").EnumerateArray()
                .Select(s => s.GetProperty("sigma").ValueKind == JsonValueKind.Null ? (double?)null : s.GetProperty("sigma").GetDouble()).ToArray());
    }

    /// <summary>The scheduler as the fixture built it: <c>Class.from_config(source config, **extra)</c>.</summary>
    public Scheduler Create() => Create(Merge(SourceConfig, Extra));

    /// <summary>The scheduler class of this case from <paramref name="config"/>.</summary>
    public Scheduler Create(SchedulerConfig config) => ClassName switch
    {
        "DDIMScheduler" => new DdimScheduler(config),
        "EulerDiscreteScheduler" => new EulerDiscreteScheduler(config),
        "EulerAncestralDiscreteScheduler" => new EulerAncestralDiscreteScheduler(config),
        "DPMSolverMultistepScheduler" => new DpmSolverMultistepScheduler(config),
        "PNDMScheduler" => new PndmScheduler(config),
        _ => throw new InvalidOperationException("unknown class " + ClassName),
    };

    /// <summary>The LoraGrains kind that should be this case.</summary>
    public SchedulerKind Kind => Case switch
    {
        "ddim" => SchedulerKind.Ddim,
        "euler" => SchedulerKind.Euler,
        "euler_karras" => SchedulerKind.EulerKarras,
        "euler_ancestral" => SchedulerKind.EulerAncestral,
        "dpmpp_2m" => SchedulerKind.DpmPlusPlus2M,
        "dpmpp_2m_karras" => SchedulerKind.DpmPlusPlus2MKarras,
        _ => SchedulerKind.Pndm,
    };

    /// <summary>Seed of the generator passed to every step (Euler ancestral only).</summary>
    public ulong? StepSeed => Case == "euler_ancestral" ? 7UL : null;

    private static SchedulerConfig Merge(SchedulerConfig config, SchedulerConfig extra)
    {
        foreach (var (k, v) in extra.Values) config = config.With(k, v);
        return config;
    }
}
