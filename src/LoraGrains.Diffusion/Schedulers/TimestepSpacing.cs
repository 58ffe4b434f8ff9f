namespace LoraGrains.Diffusion.Schedulers;

/// <summary>How a scheduler spreads its inference timesteps over the training timesteps (diffusers' <c>timestep_spacing</c>; table 2 of arXiv:2305.08891).</summary>
public enum TimestepSpacing
{
    /// <summary><c>"leading"</c>: 0, r, 2r, … (r = train // steps) plus <c>steps_offset</c>, the schedule SD 1.5 was tuned with.</summary>
    Leading,

    /// <summary><c>"linspace"</c>: evenly spaced from 0 to train − 1.</summary>
    Linspace,

    /// <summary><c>"trailing"</c>: evenly spaced down from train − 1 (always starts at the last training timestep).</summary>
    Trailing,
}
