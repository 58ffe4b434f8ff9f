namespace LoraGrains.Diffusion.Schedulers;

/// <summary>
/// The few NumPy routines diffusers builds schedules with, reproduced operation for operation (float64 unless
/// stated) so that timesteps and sigmas come out bit-identical to diffusers'.
/// </summary>
internal static class NumPy
{
    /// <summary><c>np.linspace(start, stop, num)</c> (endpoint included): <c>start + i·((stop − start)/(num − 1))</c>, the last set to <c>stop</c>.</summary>
    public static double[] Linspace(double start, double stop, int num)
    {
        var y = new double[num];
        if (num == 0) return y;
        if (num == 1)
        {
            y[0] = start;
            return y;
        }

        var step = (stop - start) / (num - 1);
        for (var i = 0; i < num; i++) y[i] = (i * step) + start;
        y[^1] = stop;
        return y;
    }

    /// <summary>
    /// <c>np.arange(start, stop, step)</c> for floats: length ⌈(stop − start)/step⌉, values
    /// <c>start + i·((start + step) − start)</c> (NumPy's fill derives the increment from the first two values).
    /// </summary>
    public static double[] Arange(double start, double stop, double step)
    {
        var length = Math.Ceiling((stop - start) / step);
        if (!(length > 0)) return [];
        var y = new double[(int)length];
        y[0] = start;
        if (y.Length > 1) y[1] = start + step;
        var delta = y.Length > 1 ? y[1] - start : step;
        for (var i = 2; i < y.Length; i++) y[i] = start + (i * delta);
        return y;
    }

    /// <summary><c>np.round</c> / <c>np.rint</c>: round half to even.</summary>
    public static double Round(double x) => Math.Round(x, MidpointRounding.ToEven);

    /// <summary>
    /// <c>np.interp(x, np.arange(len(fp)), fp)</c> for a float32 table: clamps outside, returns the table entry at
    /// integer positions, else <c>slope·(x − j) + fp[j]</c> with <c>slope = fp[j+1] − fp[j]</c>.
    /// </summary>
    public static double Interp(double x, float[] fp)
    {
        if (double.IsNaN(x)) return x;
        if (x < 0) return fp[0];
        var last = fp.Length - 1;
        if (x > last) return fp[last];
        var j = (int)Math.Floor(x);
        if (j == last || j == x) return fp[j];
        var slope = (double)fp[j + 1] - fp[j];
        return (slope * (x - j)) + fp[j];
    }

    /// <summary>
    /// <c>np.log</c> on a float32 array: NumPy's own SIMD kernel (loops_exponent_log), not libm. It differs from a
    /// correctly rounded log in the last bit for about one value in five, which moves Karras timesteps by an ulp.
    /// Range reduction to a mantissa in (√½, √2], then log(1+x) ≈ P(x)/Q(x) (Remez, degree 5/5) with fused
    /// multiply-adds, plus exponent·ln 2.
    /// </summary>
    public static float Log(float v)
    {
        if (float.IsNaN(v)) return float.NaN;
        if (v < 0) return -float.NaN;
        if (v == 0) return float.NegativeInfinity;
        if (float.IsPositiveInfinity(v)) return float.PositiveInfinity;

        var bits = BitConverter.SingleToInt32Bits(v);
        var exponentBias = 126;
        if (v < MinNormal)
        {
            // The kernel scales denormals by 2^100 first.
            bits = BitConverter.SingleToInt32Bits(v * TwoPow100);
            exponentBias += 100;
        }

        var exponent = (float)((bits >>> 23) - exponentBias);
        var x = BitConverter.Int32BitsToSingle((bits & 0x7fffff) | (126 << 23));
        if (x <= Sqrt1Over2)
        {
            x += x;
            exponent -= 1f;
        }

        x -= 1f;
        var num = MathF.FusedMultiplyAdd(P5, x, P4);
        num = MathF.FusedMultiplyAdd(num, x, P3);
        num = MathF.FusedMultiplyAdd(num, x, P2);
        num = MathF.FusedMultiplyAdd(num, x, P1);
        num = MathF.FusedMultiplyAdd(num, x, P0);
        var den = MathF.FusedMultiplyAdd(Q5, x, Q4);
        den = MathF.FusedMultiplyAdd(den, x, Q3);
        den = MathF.FusedMultiplyAdd(den, x, Q2);
        den = MathF.FusedMultiplyAdd(den, x, Q1);
        den = MathF.FusedMultiplyAdd(den, x, Q0);
        return MathF.FusedMultiplyAdd(exponent, Ln2, num / den);
    }

    /// <summary><see cref="Log(float)"/> of every element.</summary>
    public static float[] Log(float[] values) => values.Select(Log).ToArray();

    // NumPy's constants (npy_simd_data.h, npy_math.h) as float32 bit patterns.
    private static readonly float MinNormal = BitConverter.Int32BitsToSingle(0x00800000);
    private static readonly float TwoPow100 = BitConverter.Int32BitsToSingle(0x71800000);
    private static readonly float Sqrt1Over2 = BitConverter.Int32BitsToSingle(0x3F3504F3);
    private static readonly float Ln2 = BitConverter.Int32BitsToSingle(0x3F317218);
    private static readonly float P0 = 0f;
    private static readonly float P1 = BitConverter.Int32BitsToSingle(0x3F800000);
    private static readonly float P2 = BitConverter.Int32BitsToSingle(0x4007361C);
    private static readonly float P3 = BitConverter.Int32BitsToSingle(0x3FBD70A9);
    private static readonly float P4 = BitConverter.Int32BitsToSingle(0x3EC30333);
    private static readonly float P5 = BitConverter.Int32BitsToSingle(0x3CD42BCD);
    private static readonly float Q0 = BitConverter.Int32BitsToSingle(0x3F800000);
    private static readonly float Q1 = BitConverter.Int32BitsToSingle(0x4027361C);
    private static readonly float Q2 = BitConverter.Int32BitsToSingle(0x401CFE0D);
    private static readonly float Q3 = BitConverter.Int32BitsToSingle(0x3F7C8AE4);
    private static readonly float Q4 = BitConverter.Int32BitsToSingle(0x3E1E5BF3);
    private static readonly float Q5 = BitConverter.Int32BitsToSingle(0x3BC083DF);
}
