namespace LoraGrains.Diffusion.Schedulers;

/// <summary>Names of <see cref="SchedulerKind"/> values (CLI and A1111 metadata) and building schedulers from them.</summary>
public static class SchedulerKinds
{
    private static readonly (SchedulerKind Kind, string Cli, string Sampler)[] Table =
    [
        (SchedulerKind.Ddim, "ddim", "DDIM"),
        (SchedulerKind.Euler, "euler", "Euler"),
        (SchedulerKind.EulerKarras, "euler-karras", "Euler Karras"),
        (SchedulerKind.EulerAncestral, "euler-a", "Euler a"),
        (SchedulerKind.DpmPlusPlus2M, "dpmpp-2m", "DPM++ 2M"),
        (SchedulerKind.DpmPlusPlus2MKarras, "dpmpp-2m-karras", "DPM++ 2M Karras"),
        (SchedulerKind.Pndm, "pndm", "PNDM"),
    ];

    /// <summary>Every kind's CLI name, in declaration order.</summary>
    public static IReadOnlyList<string> CliNames { get; } = Table.Select(t => t.Cli).ToArray();

    /// <summary>The CLI name, e.g. <c>dpmpp-2m-karras</c>.</summary>
    public static string CliName(this SchedulerKind kind) => Entry(kind).Cli;

    /// <summary>The A1111-style sampler name written to PNG metadata, e.g. "DPM++ 2M Karras", "Euler a".</summary>
    public static string SamplerName(this SchedulerKind kind) => Entry(kind).Sampler;

    /// <summary>The kind with CLI name <paramref name="name"/> (case-insensitive, surrounding spaces ignored).</summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the allowed ones.</exception>
    public static SchedulerKind Parse(string name)
    {
        if (TryParse(name, out var kind)) return kind;
        throw new ArgumentException($"unknown scheduler '{name}' (allowed: {string.Join(", ", CliNames)})", nameof(name));
    }

    /// <summary>Parses a CLI name; false when unknown.</summary>
    public static bool TryParse(string? name, out SchedulerKind kind)
    {
        var trimmed = name?.Trim();
        foreach (var t in Table)
        {
            if (string.Equals(t.Cli, trimmed, StringComparison.OrdinalIgnoreCase))
            {
                kind = t.Kind;
                return true;
            }
        }

        kind = default;
        return false;
    }

    /// <summary>
    /// The scheduler for <paramref name="kind"/> built from a model's <c>scheduler_config.json</c> as
    /// <c>Class.from_config(config, **overrides)</c>, the overrides being what defines the kind
    /// (<c>use_karras_sigmas</c>, <c>algorithm_type="dpmsolver++"</c>, <c>solver_order=2</c>), so a config saved
    /// for another sampler (e.g. with Karras sigmas on) does not change what the kind means.
    /// </summary>
    /// <exception cref="SchedulerConfigException">The config is invalid for that scheduler.</exception>
    public static Scheduler Create(this SchedulerKind kind, SchedulerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return kind switch
        {
            SchedulerKind.Ddim => new DdimScheduler(config),
            SchedulerKind.Euler => new EulerDiscreteScheduler(config.With("use_karras_sigmas", false)),
            SchedulerKind.EulerKarras => new EulerDiscreteScheduler(config.With("use_karras_sigmas", true)),
            SchedulerKind.EulerAncestral => new EulerAncestralDiscreteScheduler(config),
            SchedulerKind.DpmPlusPlus2M => new DpmSolverMultistepScheduler(DpmPlusPlus2M(config).With("use_karras_sigmas", false)),
            SchedulerKind.DpmPlusPlus2MKarras => new DpmSolverMultistepScheduler(DpmPlusPlus2M(config).With("use_karras_sigmas", true)),
            SchedulerKind.Pndm => new PndmScheduler(config),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown scheduler kind"),
        };
    }

    private static SchedulerConfig DpmPlusPlus2M(SchedulerConfig config) =>
        config.With("algorithm_type", "dpmsolver++").With("solver_order", 2L);

    private static (SchedulerKind Kind, string Cli, string Sampler) Entry(SchedulerKind kind)
    {
        foreach (var t in Table)
        {
            if (t.Kind == kind) return t;
        }

        throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown scheduler kind");
    }
}
