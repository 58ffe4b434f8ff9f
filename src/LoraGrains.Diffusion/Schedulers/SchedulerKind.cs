namespace LoraGrains.Diffusion.Schedulers;

/// <summary>The samplers LoraGrains offers, each a diffusers scheduler class plus config overrides.</summary>
public enum SchedulerKind
{
    /// <summary>DDIM (η = 0): <see cref="DdimScheduler"/>. CLI name <c>ddim</c>.</summary>
    Ddim,

    /// <summary>Euler: <see cref="EulerDiscreteScheduler"/>. CLI name <c>euler</c>.</summary>
    Euler,

    /// <summary>Euler on Karras sigmas: <see cref="EulerDiscreteScheduler"/> with <c>use_karras_sigmas</c>. CLI name <c>euler-karras</c>.</summary>
    EulerKarras,

    /// <summary>Euler ancestral: <see cref="EulerAncestralDiscreteScheduler"/>. CLI name <c>euler-a</c>.</summary>
    EulerAncestral,

    /// <summary>DPM-Solver++ 2M: <see cref="DpmSolverMultistepScheduler"/> (dpmsolver++, order 2). CLI name <c>dpmpp-2m</c>.</summary>
    DpmPlusPlus2M,

    /// <summary>DPM-Solver++ 2M on Karras sigmas. CLI name <c>dpmpp-2m-karras</c>.</summary>
    DpmPlusPlus2MKarras,

    /// <summary>PNDM/PLMS, Stable Diffusion 1.5's own default: <see cref="PndmScheduler"/>. CLI name <c>pndm</c>.</summary>
    Pndm,
}
