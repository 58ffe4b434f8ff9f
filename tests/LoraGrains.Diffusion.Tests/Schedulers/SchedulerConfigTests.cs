using LoraGrains.Diffusion.Schedulers;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Tests.Schedulers;

/// <summary>Config validation, kinds and names, and diffusers' timestep spacings beyond the fixture's.</summary>
public sealed class SchedulerConfigTests
{
    private static SchedulerConfig Sd15 => SchedulerReference.SourceConfig;

    public static TheoryData<SchedulerKind> Kinds => new(Enum.GetValues<SchedulerKind>());

    [Theory]
    [InlineData("beta_schedule", "cubic", "scaled_linear")]
    [InlineData("prediction_type", "noise", "epsilon")]
    [InlineData("timestep_spacing", "random", "trailing")]
    public void Unknown_choice_names_the_field_the_value_and_the_allowed_values(string field, string value, string allowed)
    {
        foreach (var kind in Enum.GetValues<SchedulerKind>())
        {
            var e = Assert.Throws<SchedulerConfigException>(() => kind.Create(Sd15.With(field, value)));
            Assert.Equal(field, e.Field);
            Assert.Equal(value, e.Value);
            Assert.Contains($"'{value}'", e.Message);
            Assert.Contains(allowed, e.Message);
        }
    }

    [Theory]
    [InlineData(SchedulerKind.Pndm, "prediction_type", "sample")]
    [InlineData(SchedulerKind.EulerAncestral, "prediction_type", "sample")]
    [InlineData(SchedulerKind.Pndm, "skip_prk_steps", "false")]
    [InlineData(SchedulerKind.DpmPlusPlus2M, "thresholding", "true")]
    [InlineData(SchedulerKind.Ddim, "thresholding", "true")]
    [InlineData(SchedulerKind.Euler, "rescale_betas_zero_snr", "true")]
    [InlineData(SchedulerKind.Euler, "interpolation_type", "log_linear")]
    [InlineData(SchedulerKind.DpmPlusPlus2M, "use_lu_lambdas", "true")]
    [InlineData(SchedulerKind.DpmPlusPlus2M, "beta_schedule", "sigmoid")]
    public void Valid_diffusers_options_that_are_not_implemented_say_so(SchedulerKind kind, string field, string value)
    {
        var config = value is "true" or "false" ? Sd15.With(field, value == "true") : Sd15.With(field, value);
        var e = Assert.Throws<SchedulerConfigException>(() => kind.Create(config));
        Assert.Equal(field, e.Field);
        Assert.Contains("not supported", e.Message);
    }

    [Fact]
    public void Dpm_solver_third_order_and_sde_variants_are_rejected()
    {
        Assert.Equal("solver_order", Assert.Throws<SchedulerConfigException>(() => new DpmSolverMultistepScheduler(Sd15.With("solver_order", 3L))).Field);
        Assert.Equal("algorithm_type", Assert.Throws<SchedulerConfigException>(() => new DpmSolverMultistepScheduler(Sd15.With("algorithm_type", "sde-dpmsolver++"))).Field);
        Assert.Equal("final_sigmas_type", Assert.Throws<SchedulerConfigException>(() => new DpmSolverMultistepScheduler(Sd15.With("final_sigmas_type", "one"))).Field);
    }

    [Fact]
    public void Malformed_values_name_the_field()
    {
        Assert.Equal("beta_start", Assert.Throws<SchedulerConfigException>(() => new DdimScheduler(Sd15.With("beta_start", "abc"))).Field);
        Assert.Equal("beta_end", Assert.Throws<SchedulerConfigException>(() => new DdimScheduler(Sd15.With("beta_end", 1.5))).Field);
        Assert.Equal("num_train_timesteps", Assert.Throws<SchedulerConfigException>(() => new DdimScheduler(Sd15.With("num_train_timesteps", 0L))).Field);
        Assert.Equal("steps_offset", Assert.Throws<SchedulerConfigException>(() => new DdimScheduler(Sd15.With("steps_offset", 0.5))).Field);
        Assert.Equal("use_karras_sigmas", Assert.Throws<SchedulerConfigException>(() => new EulerDiscreteScheduler(Sd15.With("use_karras_sigmas", "yes"))).Field);
        var e = Assert.Throws<SchedulerConfigException>(() => new DdimScheduler(SchedulerConfig.Parse("""{"trained_betas": [0.1, 0.2]}""")));
        Assert.Equal("trained_betas", e.Field);
        Assert.Contains("num_train_timesteps is 1000", e.Message);
        Assert.Throws<SchedulerConfigException>(() => SchedulerConfig.Parse("[1, 2]"));
        Assert.Throws<SchedulerConfigException>(() => SchedulerConfig.Parse("{ not json"));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Step_counts_outside_1_to_num_train_timesteps_are_rejected(SchedulerKind kind)
    {
        using var scheduler = kind.Create(Sd15);
        foreach (var steps in new[] { 0, -3, 1001 })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => scheduler.SetTimesteps(steps));
            Assert.Equal("steps", e.ParamName);
            Assert.Contains(steps.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message);
            Assert.Contains("1000", e.Message);
        }

        scheduler.SetTimesteps(1);
        Assert.NotEmpty(scheduler.Timesteps);
    }

    [Fact]
    public void Steps_must_follow_set_timesteps_and_run_in_order()
    {
        using var scope = TensorScope.Enter();
        using var scheduler = SchedulerKind.DpmPlusPlus2M.Create(Sd15);
        var x = Torch.Torch.Zeros([1, 4, 8, 8]);
        Assert.Throws<InvalidOperationException>(() => scheduler.Step(x, 0, x));
        scheduler.SetTimesteps(5);
        Assert.Contains("next step is 0", Assert.Throws<InvalidOperationException>(() => scheduler.Step(x, 1, x)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => scheduler.ScaleModelInput(x, 5));
        scheduler.Step(x, 0, x);
        Assert.Equal(1, scheduler.StepIndex);
        scheduler.SetTimesteps(5);
        Assert.Equal(0, scheduler.StepIndex);
    }

    [Fact]
    public void Cli_names_parse_case_insensitively_and_unknown_names_list_the_allowed_ones()
    {
        foreach (var kind in Enum.GetValues<SchedulerKind>())
        {
            Assert.Equal(kind, SchedulerKinds.Parse(kind.CliName()));
            Assert.Equal(kind, SchedulerKinds.Parse(" " + kind.CliName().ToUpperInvariant() + " "));
        }

        Assert.Equal(SchedulerKind.EulerAncestral, SchedulerKinds.Parse("euler-a"));
        Assert.Equal(SchedulerKind.DpmPlusPlus2MKarras, SchedulerKinds.Parse("dpmpp-2m-karras"));
        var e = Assert.Throws<ArgumentException>(() => SchedulerKinds.Parse("k_lms"));
        Assert.Contains("'k_lms'", e.Message);
        Assert.Contains("ddim, euler, euler-karras, euler-a, dpmpp-2m, dpmpp-2m-karras, pndm", e.Message);
        Assert.False(SchedulerKinds.TryParse(null, out _));
    }

    [Fact]
    public void Sampler_names_follow_a1111()
    {
        Assert.Equal("DDIM", SchedulerKind.Ddim.SamplerName());
        Assert.Equal("Euler", SchedulerKind.Euler.SamplerName());
        Assert.Equal("Euler a", SchedulerKind.EulerAncestral.SamplerName());
        Assert.Equal("DPM++ 2M", SchedulerKind.DpmPlusPlus2M.SamplerName());
        Assert.Equal("DPM++ 2M Karras", SchedulerKind.DpmPlusPlus2MKarras.SamplerName());
        Assert.Equal("PNDM", SchedulerKind.Pndm.SamplerName());
    }

    [Fact]
    public void Kinds_fix_their_defining_options_whatever_the_config_says()
    {
        var karrasConfig = Sd15.With("use_karras_sigmas", true).With("solver_order", 1L);
        using var euler = (EulerDiscreteScheduler)SchedulerKind.Euler.Create(karrasConfig);
        using var dpm = (DpmSolverMultistepScheduler)SchedulerKind.DpmPlusPlus2M.Create(karrasConfig);
        Assert.False(euler.UseKarrasSigmas);
        Assert.False(dpm.UseKarrasSigmas);
        Assert.Equal(2, dpm.SolverOrder);
    }

    [Fact]
    public void Configs_saved_by_diffusers_with_bare_infinity_parse()
    {
        var config = SchedulerConfig.Parse("""{"lambda_min_clipped": -Infinity, "note": "NaN stays a string", "beta_schedule": "scaled_linear"}""");
        Assert.Equal("NaN stays a string", config.Values["note"].GetString());
        using var dpm = new DpmSolverMultistepScheduler(config);
        dpm.SetTimesteps(10);
        Assert.Equal(999, dpm.Timesteps[0]);
    }

    // Expected values follow diffusers 0.26.3's set_timesteps formulas for each spacing.
    [Theory]
    [InlineData(SchedulerKind.Ddim, "trailing", 10, new[] { 999.0, 899, 799, 699, 599, 499, 399, 299, 199, 99 })]
    [InlineData(SchedulerKind.Ddim, "linspace", 4, new[] { 999.0, 666, 333, 0 })]
    [InlineData(SchedulerKind.Ddim, "leading", 10, new[] { 901.0, 801, 701, 601, 501, 401, 301, 201, 101, 1 })]
    [InlineData(SchedulerKind.DpmPlusPlus2M, "trailing", 10, new[] { 999.0, 899, 799, 699, 599, 499, 399, 299, 199, 99 })]
    [InlineData(SchedulerKind.DpmPlusPlus2M, "leading", 4, new[] { 801.0, 601, 401, 201 })]
    [InlineData(SchedulerKind.Euler, "leading", 4, new[] { 751.0, 501, 251, 1 })]
    [InlineData(SchedulerKind.Euler, "trailing", 4, new[] { 999.0, 749, 499, 249 })]
    [InlineData(SchedulerKind.Pndm, "linspace", 4, new[] { 999.0, 666, 666, 333, 0 })]
    [InlineData(SchedulerKind.Pndm, "trailing", 4, new[] { 999.0, 749, 749, 499, 249 })]
    [InlineData(SchedulerKind.Pndm, "leading", 1, new[] { 1.0 })]
    public void Timestep_spacings_follow_diffusers(SchedulerKind kind, string spacing, int steps, double[] expected)
    {
        using var scheduler = kind.Create(Sd15.With("timestep_spacing", spacing));
        scheduler.SetTimesteps(steps);
        Assert.Equal(expected, scheduler.Timesteps);
    }

    [Fact]
    public void Euler_init_noise_sigma_depends_on_spacing_as_in_diffusers()
    {
        using var linspace = new EulerDiscreteScheduler(Sd15);
        using var leading = new EulerDiscreteScheduler(Sd15.With("timestep_spacing", "leading"));
        linspace.SetTimesteps(20);
        leading.SetTimesteps(20);
        var max = (float)leading.Sigmas!.Max();
        Assert.Equal(14.614645004272461, linspace.InitNoiseSigma);
        Assert.Equal(MathF.Sqrt((max * max) + 1f), leading.InitNoiseSigma);
    }
}
