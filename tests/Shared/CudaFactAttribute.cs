using LoraGrains.Torch;

namespace LoraGrains.Tests;

// Compiled into every test project that has CUDA-only tests (linked from tests/Shared).

/// <summary>
/// A <see cref="FactAttribute"/> that skips, with the reason shown in the test report, when no CUDA device is usable.
/// xunit 2 has no dynamic skip, so the decision is made once when the attribute is constructed during discovery.
/// </summary>
public sealed class CudaFactAttribute : FactAttribute
{
    /// <summary>Marks a test that needs a CUDA device.</summary>
    public CudaFactAttribute()
    {
        if (SkipReason is { } reason) Skip = reason;
    }

    private static readonly string? SkipReason = Probe();

    private static string? Probe()
    {
        try
        {
            return Device.IsCudaAvailable
                ? null
                : "no CUDA device: the loaded libtorch has no CUDA support or sees no GPU (Device.IsCudaAvailable is false)";
        }
        catch (Exception e)
        {
            // A broken native library must not break discovery; the ordinary tests report it.
            return $"no CUDA device: probing failed ({e.GetType().Name}: {e.Message})";
        }
    }
}
