using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Tests;

/// <summary>Tensor comparisons for golden-fixture tests.</summary>
internal static class TensorAssert
{
    /// <summary>‖actual − expected‖₂ / ‖expected‖₂, computed in float64 on the CPU.</summary>
    public static double RelativeL2(Tensor actual, Tensor expected)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        var a = actual.To(Device.Cpu, DType.Float64).ToArray<double>();
        var e = expected.To(Device.Cpu, DType.Float64).ToArray<double>();
        double num = 0, den = 0;
        for (var i = 0; i < a.Length; i++)
        {
            var d = a[i] - e[i];
            num += d * d;
            den += e[i] * e[i];
        }

        return den == 0 ? Math.Sqrt(num) : Math.Sqrt(num / den);
    }

    /// <summary>Asserts the relative L2 error is at most <paramref name="tolerance"/>, naming <paramref name="what"/>.</summary>
    public static void Close(Tensor actual, Tensor expected, double tolerance, string what)
    {
        var err = RelativeL2(actual, expected);
        Assert.True(err <= tolerance, $"{what}: relative L2 error {err:E3} exceeds {tolerance:E1}");
    }

    /// <summary>Largest absolute elementwise difference.</summary>
    public static double MaxAbsDiff(Tensor actual, Tensor expected)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        var a = actual.To(Device.Cpu, DType.Float64).ToArray<double>();
        var e = expected.To(Device.Cpu, DType.Float64).ToArray<double>();
        double m = 0;
        for (var i = 0; i < a.Length; i++) m = Math.Max(m, Math.Abs(a[i] - e[i]));
        return m;
    }
}
