namespace LoraGrains.Diffusion.Schedulers;

/// <summary>Reads a string-valued config field that must be one of a fixed set, with messages that list the allowed values.</summary>
internal static class ConfigChoice
{
    /// <summary>
    /// The value of <paramref name="key"/> mapped through <paramref name="allowed"/>; <paramref name="unsupported"/>
    /// lists values diffusers knows but LoraGrains does not implement, so the message can say which case it is.
    /// </summary>
    public static T Read<T>(SchedulerConfig config, string scheduler, string key, string defaultValue,
        IReadOnlyList<(string Name, T Value)> allowed, params string[] unsupported)
    {
        var raw = config.GetString(key, defaultValue) ?? defaultValue;
        foreach (var (name, value) in allowed)
        {
            if (string.Equals(name, raw, StringComparison.Ordinal)) return value;
        }

        var names = string.Join(", ", allowed.Select(a => a.Name));
        if (unsupported.Contains(raw, StringComparer.Ordinal))
            throw NotSupported(scheduler, key, raw, $"supported: {names}");
        throw new SchedulerConfigException(key, raw, $"{scheduler}: unknown {key} '{raw}' (allowed: {names})");
    }

    /// <summary>The exception for a valid diffusers option this scheduler (or LoraGrains) does not implement.</summary>
    public static SchedulerConfigException NotSupported(string scheduler, string key, string value, string? hint = null) =>
        new(key, value, $"{scheduler}: {key} = {value} is not supported" + (hint is null ? "" : $" ({hint})"));

    /// <summary>Reads <c>prediction_type</c>, allowing only <paramref name="supported"/>.</summary>
    public static PredictionType PredictionType(SchedulerConfig config, string scheduler, params PredictionType[] supported)
    {
        (string, PredictionType)[] all = [("epsilon", Schedulers.PredictionType.Epsilon), ("v_prediction", Schedulers.PredictionType.VPrediction), ("sample", Schedulers.PredictionType.Sample)];
        var allowed = all.Where(a => supported.Contains(a.Item2)).ToArray();
        var unsupported = all.Where(a => !supported.Contains(a.Item2)).Select(a => a.Item1).ToArray();
        return Read(config, scheduler, "prediction_type", "epsilon", allowed, unsupported);
    }

    /// <summary>Reads <c>timestep_spacing</c> with the class's own default.</summary>
    public static TimestepSpacing TimestepSpacing(SchedulerConfig config, string scheduler, TimestepSpacing defaultValue) =>
        Read(config, scheduler, "timestep_spacing", defaultValue switch
        {
            Schedulers.TimestepSpacing.Leading => "leading",
            Schedulers.TimestepSpacing.Linspace => "linspace",
            _ => "trailing",
        }, [("leading", Schedulers.TimestepSpacing.Leading), ("linspace", Schedulers.TimestepSpacing.Linspace), ("trailing", Schedulers.TimestepSpacing.Trailing)]);
}
