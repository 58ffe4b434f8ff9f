namespace LoraGrains.Diffusion.Schedulers;

/// <summary>
/// A scheduler config field holds a value that is invalid, unknown to diffusers, or not supported by
/// LoraGrains. <see cref="Field"/> and <see cref="Value"/> name the culprit.
/// </summary>
public sealed class SchedulerConfigException : Exception
{
    /// <summary>Creates the exception for <paramref name="field"/> holding <paramref name="value"/>.</summary>
    public SchedulerConfigException(string field, string? value, string message)
        : base(message)
    {
        Field = field;
        Value = value;
    }

    /// <summary>The config key, as diffusers spells it (e.g. <c>beta_schedule</c>).</summary>
    public string Field { get; }

    /// <summary>The offending value as text (JSON), or null when the field was absent.</summary>
    public string? Value { get; }
}
