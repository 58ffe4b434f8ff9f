namespace LoraGrains.Diffusion.Schedulers;

/// <summary>
/// <c>torch.linspace(start, end, steps, dtype=torch.float32)</c> bit for bit as libtorch's CPU kernel computes it,
/// so beta schedules match diffusers exactly on every machine (the schedule must not depend on where a job resumes).
/// </summary>
/// <remarks>
/// The kernel (RangeFactoriesKernel.cpp) fills from <c>start</c> for the first half and from <c>end</c> for the
/// second, in vectors of 8 floats (AVX2 build) processed two at a time: each vector's base element is
/// <c>start + step·i</c> (or <c>end − step·(steps−i−1)</c>), which the compiler contracts to one fused multiply-add,
/// and the other lanes are <c>base + k·step</c> rounded twice; the tail shorter than 16 elements takes the fused
/// scalar formula. Checked bit-exact against libtorch for SD's schedules and random ranges and lengths.
/// </remarks>
internal static class TorchLinspace
{
    private const int VectorWidth = 8;

    /// <summary>The float32 values (torch fills a one-element linspace with <paramref name="start"/>).</summary>
    public static float[] Float32(double start, double end, int steps)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        var result = new float[steps];
        if (steps == 0) return result;
        var s = (float)start;
        if (steps == 1)
        {
            result[0] = s;
            return result;
        }

        var e = (float)end;
        var step = (e - s) / (steps - 1);
        var halfway = steps / 2;
        float At(int idx) => idx < halfway
            ? MathF.FusedMultiplyAdd(step, idx, s)
            : MathF.FusedMultiplyAdd(-step, steps - idx - 1, e);

        var i = 0;
        for (; i <= steps - 2 * VectorWidth; i += VectorWidth)
        {
            var baseValue = At(i);
            for (var k = 0; k < VectorWidth; k++) result[i + k] = baseValue + k * step;
        }

        for (; i < steps; i++) result[i] = At(i);
        return result;
    }
}
