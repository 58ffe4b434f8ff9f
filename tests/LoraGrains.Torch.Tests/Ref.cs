namespace LoraGrains.Torch.Tests;

/// <summary>Inputs shared with Reference/reference_values.py and tolerant comparisons.</summary>
internal static class Ref
{
    /// <summary>
    /// Value i (row-major) = ((i*k + 3) % 17 − 8) / 4, the formula of seq() in reference_values.py. Every value
    /// is a multiple of 1/4 in [−2, 2], exact in float32, so the C# and Python sides start from identical bits.
    /// </summary>
    public static float[] SeqValues(long count, int k)
    {
        var v = new float[count];
        for (long i = 0; i < count; i++) v[i] = (((i * k) + 3) % 17 - 8) / 4f;
        return v;
    }

    /// <summary>A float32 tensor of <see cref="SeqValues"/>.</summary>
    public static Tensor Seq(long[] shape, int k)
    {
        long n = 1;
        foreach (var s in shape) n *= s;
        return Tensor.FromArray(SeqValues(n, k), shape);
    }

    /// <summary>A float32 tensor from literal values.</summary>
    public static Tensor F(float[] values, params long[] shape) => Tensor.FromArray(values, shape);

    /// <summary>Asserts |expected − actual| ≤ atol + rtol·|expected| elementwise, naming the first bad index.</summary>
    public static void Close(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double atol = 1e-5, double rtol = 1e-5)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            if (double.IsNaN(e) && double.IsNaN(a)) continue;
            if (double.IsInfinity(e) && e == a) continue;
            var tol = atol + (rtol * Math.Abs(e));
            Assert.True(Math.Abs(e - a) <= tol, $"element {i}: expected {e:R}, got {a:R} (tolerance {tol:G3})");
        }
    }

    /// <summary>Asserts the shape and (within tolerance) the float32 values of <paramref name="actual"/>.</summary>
    public static void Close(float[] expected, long[] expectedShape, Tensor actual, double atol = 1e-5, double rtol = 1e-5)
    {
        Assert.Equal(expectedShape, actual.Shape);
        Close(expected, actual.ToArray<float>(), atol, rtol);
    }

    /// <summary>Asserts the shape and exact float32 values of <paramref name="actual"/>.</summary>
    public static void Exact(float[] expected, long[] expectedShape, Tensor actual)
    {
        Assert.Equal(expectedShape, actual.Shape);
        Assert.Equal(expected, actual.ToArray<float>());
    }

    /// <summary>Float32 0, 1, …, n−1 in the given shape.</summary>
    public static Tensor Arange(params long[] shape)
    {
        long n = 1;
        foreach (var s in shape) n *= s;
        using var flat = Torch.Arange(0, n);
        return flat.Reshape(shape);
    }
}
