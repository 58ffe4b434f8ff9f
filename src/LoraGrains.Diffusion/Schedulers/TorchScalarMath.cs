namespace LoraGrains.Diffusion.Schedulers;

/// <summary>
/// Transcendental functions of float32 scalars as diffusers evaluates them: on 0-dim torch tensors, i.e. by
/// libtorch's vectorised CPU kernels rather than libm, so that DPM-Solver's coefficients match bit for bit.
/// </summary>
internal static class TorchScalarMath
{
    private static readonly float Log2E = BitConverter.Int32BitsToSingle(0x3FB8AA3B);
    private static readonly float Ln2High = BitConverter.Int32BitsToSingle(0x3F317200);
    private static readonly float Ln2Low = BitConverter.Int32BitsToSingle(0x35BFBE8E);
    private static readonly float C0 = BitConverter.Int32BitsToSingle(0x39502BDA);
    private static readonly float C1 = BitConverter.Int32BitsToSingle(0x3AB696C9);
    private static readonly float C2 = BitConverter.Int32BitsToSingle(0x3C0888A6);
    private static readonly float C3 = BitConverter.Int32BitsToSingle(0x3D2AAA7A);
    private static readonly float C4 = BitConverter.Int32BitsToSingle(0x3E2AAAAB);

    /// <summary>
    /// <c>torch.exp</c>: SLEEF's <c>expf_u10</c> with fused multiply-adds (libtorch's AVX2/AVX-512 kernel). It is
    /// not correctly rounded; glibc's expf differs from it by an ulp now and then, which the DPM-Solver reference
    /// outputs reveal.
    /// </summary>
    public static float Exp(float d)
    {
        if (float.IsNaN(d)) return d;
        if (d < -104f) return 0f;
        if (d > 100f) return float.PositiveInfinity;
        var q = (int)MathF.Round(d * Log2E, MidpointRounding.ToEven);
        var s = MathF.FusedMultiplyAdd(q, -Ln2High, d);
        s = MathF.FusedMultiplyAdd(q, -Ln2Low, s);
        var u = C0;
        u = MathF.FusedMultiplyAdd(u, s, C1);
        u = MathF.FusedMultiplyAdd(u, s, C2);
        u = MathF.FusedMultiplyAdd(u, s, C3);
        u = MathF.FusedMultiplyAdd(u, s, C4);
        u = MathF.FusedMultiplyAdd(u, s, 0.5f);
        u = 1f + MathF.FusedMultiplyAdd(s * s, u, s);
        // ldexp in two halves so that neither power of two overflows.
        return u * Pow2(q >> 1) * Pow2(q - (q >> 1));
    }

    /// <summary>
    /// <c>torch.log</c>, approximated by libm's logf (correctly rounded in practice). SLEEF's <c>logf_u10</c>, which
    /// libtorch uses, occasionally differs by an ulp; in DPM-Solver that vanishes in the subtraction of two logs
    /// (no difference on the reference runs).
    /// </summary>
    public static float Log(float x) => MathF.Log(x);

    private static float Pow2(int e) => BitConverter.Int32BitsToSingle((e + 0x7f) << 23);
}
