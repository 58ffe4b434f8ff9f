namespace LoraGrains.Torch.Tests;

/// <summary>
/// Elementwise math, activations, arithmetic with broadcasting and the in-place forms. Expected values come
/// from System.Math in double (independent of libtorch) or, for the activations, from their textbook formulas
/// evaluated in float64 by Reference/reference_values.py.
/// </summary>
public sealed class ElementwiseTests
{
    private static readonly float[] ActX = [-3f, -1.5f, -0.5f, 0f, 0.25f, 1f, 2.5f, 4f];

    private static float[] Map(float[] x, Func<double, double> f) => x.Select(v => (float)f(v)).ToArray();

    [Fact]
    public void Silu_Gelu_QuickGelu_match_textbook_formulas()
    {
        using var scope = TensorScope.Enter();
        var x = Ref.F(ActX, ActX.Length);
        long[] shape = [ActX.Length];
        // reference_values.py: x·sigmoid(x)
        Ref.Close([-0.14227762f, -0.273638286f, -0.188770334f, 0f, 0.140544125f, 0.731058579f, 2.31035455f, 3.92805516f], shape, x.Silu(), atol: 1e-6);
        // reference_values.py: 0.5x(1 + erf(x/√2))
        Ref.Close([-0.00404969409f, -0.100210802f, -0.154268769f, 0f, 0.149676581f, 0.841344746f, 2.48447584f, 3.99987332f], shape, x.Gelu(), atol: 1e-6);
        // reference_values.py: 0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))
        Ref.Close([-0.00363739208f, -0.100428423f, -0.15428599f, 0f, 0.149675351f, 0.841191991f, 2.48491573f, 3.99992975f], shape, x.Gelu(tanhApproximation: true), atol: 1e-6);
        // reference_values.py: x·sigmoid(1.702x)
        Ref.Close([-0.0180713097f, -0.108337802f, -0.149611563f, 0f, 0.15119965f, 0.845795766f, 2.46501383f, 3.99558528f], shape, x.QuickGelu(), atol: 1e-6);
        // In place gives the same as out of place.
        var y = x.Clone();
        Assert.Same(y, y.SiluInPlace());
        Ref.Close(x.Silu().ToArray<float>(), y.ToArray<float>(), atol: 0);
    }

    [Fact]
    public void Sigmoid_Tanh_Relu_Abs_match_System_Math()
    {
        using var scope = TensorScope.Enter();
        var x = Ref.F(ActX, ActX.Length);
        Ref.Close(Map(ActX, v => 1 / (1 + Math.Exp(-v))), x.Sigmoid().ToArray<float>(), atol: 1e-6);
        Ref.Close(Map(ActX, Math.Tanh), x.Tanh().ToArray<float>(), atol: 1e-6);
        Assert.Equal(Map(ActX, v => Math.Max(v, 0)), x.Relu().ToArray<float>());
        Assert.Equal(Map(ActX, Math.Abs), x.Abs().ToArray<float>());
        Assert.Equal(Map(ActX, v => -v), (-x).ToArray<float>());
    }

    [Fact]
    public void Exp_Log_Sqrt_Rsqrt_Sin_Cos_Pow_match_System_Math()
    {
        using var scope = TensorScope.Enter();
        float[] pos = [0.25f, 0.5f, 1f, 2f, 4f, 9f];
        float[] any = [-2f, -0.75f, 0f, 0.5f, 1.25f, 2f];
        var p = Ref.F(pos, pos.Length);
        var a = Ref.F(any, any.Length);
        Ref.Close(Map(any, Math.Exp), a.Exp().ToArray<float>(), atol: 1e-6, rtol: 1e-6);
        Ref.Close(Map(pos, Math.Log), p.Log().ToArray<float>(), atol: 1e-6, rtol: 1e-6);
        Ref.Close(Map(pos, Math.Sqrt), p.Sqrt().ToArray<float>(), atol: 0, rtol: 1e-7);
        Ref.Close(Map(pos, v => 1 / Math.Sqrt(v)), p.Rsqrt().ToArray<float>(), atol: 0, rtol: 1e-6);
        Ref.Close(Map(any, Math.Sin), a.Sin().ToArray<float>(), atol: 1e-6);
        Ref.Close(Map(any, Math.Cos), a.Cos().ToArray<float>(), atol: 1e-6);
        Ref.Close(Map(pos, v => Math.Pow(v, 2.5)), p.Pow(2.5).ToArray<float>(), atol: 1e-6, rtol: 1e-6);
        Ref.Close(Map(pos, v => v * v), p.Square().ToArray<float>(), atol: 0);
        Ref.Close(Map(pos, v => 1 / v), p.Reciprocal().ToArray<float>(), atol: 0, rtol: 1e-7);
        // Elementwise tensor exponent: pos[i]^any[i].
        var expected = pos.Zip(any, (b, e) => (float)Math.Pow(b, e)).ToArray();
        Ref.Close(expected, p.Pow(a).ToArray<float>(), atol: 1e-6, rtol: 1e-6);
        // log of 0 is −inf and sqrt of a negative is NaN, as IEEE says.
        var edge = Ref.F([0f, -1f], 2);
        Assert.Equal(float.NegativeInfinity, edge.Log().ToArray<float>()[0]);
        Assert.True(float.IsNaN(edge.Sqrt().ToArray<float>()[1]));
    }

    [Fact]
    public void Floor_Round_half_to_even_IsFinite()
    {
        using var scope = TensorScope.Enter();
        var x = Ref.F([-1.5f, -0.5f, 0.5f, 1.5f, 2.5f, 2.7f], 6);
        Assert.Equal([-2f, -1f, 0f, 1f, 2f, 2f], x.Floor().ToArray<float>());
        Assert.Equal([-2f, -0f, 0f, 2f, 2f, 3f], x.Round().ToArray<float>());
        var f = Ref.F([1f, float.NaN, float.PositiveInfinity, float.NegativeInfinity], 4);
        Assert.Equal([true, false, false, false], f.IsFinite().ToArray<bool>());
    }

    [Fact]
    public void Tensor_tensor_arithmetic_broadcasts()
    {
        using var scope = TensorScope.Enter();
        // a: (2,1,3), b: (4,1) broadcast to (2,4,3); expected worked out index by index.
        var av = Ref.SeqValues(6, 5);
        float[] bv = [-1.25f, 0.5f, 4f, -0.25f];
        var a = Ref.F(av, 2, 1, 3);
        var b = Ref.F(bv, 4, 1);
        float[] Expect(Func<float, float, float> op)
        {
            var r = new float[2 * 4 * 3];
            for (var i = 0; i < 2; i++)
            {
                for (var j = 0; j < 4; j++)
                {
                    for (var k = 0; k < 3; k++) r[(i * 12) + (j * 3) + k] = op(av[(i * 3) + k], bv[j]);
                }
            }

            return r;
        }

        long[] shape = [2, 4, 3];
        Ref.Exact(Expect((x, y) => x + y), shape, a + b);
        Ref.Exact(Expect((x, y) => x - y), shape, a - b);
        Ref.Exact(Expect((x, y) => x * y), shape, a * b);
        Ref.Exact(Expect((x, y) => x / y), shape, a / b);
        Ref.Exact(Expect((x, y) => x + (2.5f * y)), shape, a.Add(b, alpha: 2.5));
        Ref.Exact(Expect(Math.Max), shape, a.Maximum(b));
        Ref.Exact(Expect(Math.Min), shape, a.Minimum(b));
    }

    [Fact]
    public void Tensor_scalar_arithmetic_both_orders()
    {
        using var scope = TensorScope.Enter();
        float[] v = [-2f, -0.5f, 0.25f, 4f];
        var t = Ref.F(v, 4);
        Assert.Equal(v.Select(x => x + 2.5f), (t + 2.5).ToArray<float>());
        Assert.Equal(v.Select(x => 2.5f + x), (2.5 + t).ToArray<float>());
        Assert.Equal(v.Select(x => x - 1f), (t - 1).ToArray<float>());
        Assert.Equal(v.Select(x => 1f - x), (1 - t).ToArray<float>());
        Assert.Equal(v.Select(x => x * 3f), (t * 3).ToArray<float>());
        Assert.Equal(v.Select(x => 3f * x), (3 * t).ToArray<float>());
        Assert.Equal(v.Select(x => x / 4f), (t / 4).ToArray<float>());
        Assert.Equal(v.Select(x => 8f / x), (8 / t).ToArray<float>());
        // Integer tensors keep integer arithmetic for + and ·, and / is true division, as PyTorch.
        var i = Tensor.FromArray(new long[] { 7, -7 }, 2);
        var sum = i + 1;
        Assert.Equal(DType.Int64, sum.DType);
        Assert.Equal([8L, -6L], sum.ToArray<long>());
        var q = i / 2;
        Assert.Equal(DType.Float32, q.DType);
        Assert.Equal([3.5f, -3.5f], q.ToArray<float>());
    }

    [Fact]
    public void Whole_number_scalars_keep_integer_tensors_integer_as_int_literals_do_in_pytorch()
    {
        using var scope = TensorScope.Enter();
        // PyTorch: torch.tensor([1,5]) + 1 → int64, * 2.5 → float32, .clamp(0,3) → int64, .clamp(0.5,3.0) → float32;
        // uint8 200 + 100 wraps to 44 in uint8.
        var i = Tensor.FromArray(new long[] { 1, 5 }, 2);
        Assert.Equal(DType.Int64, (i * 2).DType);
        Assert.Equal(DType.Int64, (1 - i).DType);
        Assert.Equal([0L, -4L], (1 - i).ToArray<long>());
        Assert.Equal(DType.Float32, (i * 2.5).DType);
        Assert.Equal([2.5f, 12.5f], (i * 2.5).ToArray<float>());
        Assert.Equal([1L, 3L], i.Clamp(0, 3).ToArray<long>());
        Assert.Equal(DType.Float32, i.Clamp(0.5, 3).DType);
        Assert.Same(i, i.AddInPlace(1));
        i.MulInPlace(3).SubInPlace(2).ClampInPlace(max: 10);
        Assert.Equal([4L, 10L], i.ToArray<long>());
        Assert.Equal(DType.Int64, i.Pow(2).DType);
        var u = Tensor.FromArray(new byte[] { 200 }, 1);
        Assert.Equal([(byte)44], (u + 100).ToArray<byte>());
        // A fractional scalar cannot be applied in place to an integer tensor (PyTorch refuses the same).
        Assert.Throws<TorchException>(() => i.AddInPlace(0.5));
    }

    [Fact]
    public void In_place_variants_modify_and_return_the_same_tensor()
    {
        using var scope = TensorScope.Enter();
        var t = Ref.F([1, 2, 3, 4, 5, 6], 2, 3);
        var row = Ref.F([10, 20, 30], 3);

        Assert.Same(t, t.AddInPlace(row));            // broadcast over rows
        Assert.Equal([11f, 22, 33, 14, 25, 36], t.ToArray<float>());
        t.AddInPlace(row, alpha: -0.5);
        Assert.Equal([6f, 12, 18, 9, 15, 21], t.ToArray<float>());
        t.SubInPlace(row);
        Assert.Equal([-4f, -8, -12, -1, -5, -9], t.ToArray<float>());
        t.MulInPlace(row);
        Assert.Equal([-40f, -160, -360, -10, -100, -270], t.ToArray<float>());
        t.DivInPlace(row);
        Assert.Equal([-4f, -8, -12, -1, -5, -9], t.ToArray<float>());
        Assert.Same(t, t.AddInPlace(1.5));
        Assert.Equal([-2.5f, -6.5f, -10.5f, 0.5f, -3.5f, -7.5f], t.ToArray<float>());
        Assert.Same(t, t.SubInPlace(0.5));
        Assert.Equal([-3f, -7, -11, 0, -4, -8], t.ToArray<float>());
        Assert.Same(t, t.MulInPlace(-2));
        Assert.Equal([6f, 14, 22, 0, 8, 16], t.ToArray<float>());
        Assert.Same(t, t.DivInPlace(4));
        Assert.Equal([1.5f, 3.5f, 5.5f, 0, 2, 4], t.ToArray<float>());
        Assert.Same(t, t.ClampInPlace(1, 4));
        Assert.Equal([1.5f, 3.5f, 4, 1, 2, 4], t.ToArray<float>());
        Assert.Same(t, t.Fill(7));
        Assert.Equal([7f, 7, 7, 7, 7, 7], t.ToArray<float>());
        Assert.Same(t, t.CopyFrom(row));               // copy_ broadcasts the row into both rows
        Assert.Equal([10f, 20, 30, 10, 20, 30], t.ToArray<float>());
    }

    [Fact]
    public void In_place_on_a_view_writes_through_to_the_base()
    {
        using var scope = TensorScope.Enter();
        var t = Torch.Zeros([2, 3]);
        t.Select(0, 1).AddInPlace(5);
        t.Narrow(1, 0, 1).Fill(-1);
        Assert.Equal([-1f, 0, 0, -1, 5, 5], t.ToArray<float>());
    }

    [Fact]
    public void Clamp_with_either_bound()
    {
        using var scope = TensorScope.Enter();
        var t = Ref.F([-3, -1, 0, 2, 5], 5);
        Assert.Equal([-1f, -1, 0, 2, 3], t.Clamp(-1, 3).ToArray<float>());
        Assert.Equal([0f, 0, 0, 2, 5], t.Clamp(min: 0).ToArray<float>());
        Assert.Equal([-3f, -1, 0, 1, 1], t.Clamp(max: 1).ToArray<float>());
    }

    [Fact]
    public void Where_MaskedFill_comparisons()
    {
        using var scope = TensorScope.Enter();
        var a = Ref.F([-2, -1, 0, 1, 2, 3], 2, 3);
        var b = Torch.Full([3], 10);
        var pos = a.Gt(0);
        Assert.Equal(DType.Bool, pos.DType);
        Assert.Equal([false, false, false, true, true, true], pos.ToArray<bool>());
        // where(cond, a, b) with b broadcast from (3).
        Assert.Equal([10f, 10, 10, 1, 2, 3], Torch.Where(pos, a, b).ToArray<float>());
        Assert.Equal([-2f, -1, 0, 99, 99, 99], a.MaskedFill(pos, 99).ToArray<float>());
        // A (3) mask broadcasts over rows.
        var cols = Tensor.FromArray(new[] { true, false, true }, 3);
        Assert.Equal([-5f, -1, -5, -5, 2, -5], a.MaskedFill(cols, -5).ToArray<float>());
        Assert.Equal([false, false, true, true, true, true], a.Ge(0).ToArray<bool>());
        Assert.Equal([true, true, true, false, false, false], a.Le(0).ToArray<bool>());
        Assert.Equal([true, true, false, false, false, false], a.Lt(0).ToArray<bool>());
        Assert.Equal([false, false, true, false, false, false], a.Eq(0).ToArray<bool>());
        Assert.Equal([false, false, false, false, false, false], a.Eq(b).ToArray<bool>());
        Assert.Equal([true, true, true, true, true, true], a.Lt(b).ToArray<bool>());
        Assert.Equal([true, true, true, false, false, false], pos.LogicalNot().ToArray<bool>());
        Assert.Equal([false, false, false, true, false, true], pos.LogicalAnd(cols.Unsqueeze(0)).ToArray<bool>());
        Assert.Equal([true, false, true, true, true, true], pos.LogicalOr(cols).ToArray<bool>());
    }

    [Fact]
    public void ArgMax_flat_and_along_dim()
    {
        using var scope = TensorScope.Enter();
        var t = Ref.F([1, 9, 3, 7, 2, 8], 2, 3);
        var flat = t.ArgMax();
        Assert.Equal(DType.Int64, flat.DType);
        Assert.Equal(1L, (long)flat.Item());
        Assert.Equal([1L, 2L], t.ArgMax(1).ToArray<long>());
        Assert.Equal([1L, 0L, 1L], t.ArgMax(0).ToArray<long>());
        var kept = t.ArgMax(1, keepDim: true);
        Assert.Equal([2L, 1L], kept.Shape);
    }

    [Fact]
    public void Triu_keeps_elements_on_and_above_the_diagonal()
    {
        using var scope = TensorScope.Enter();
        var t = Ref.Arange(3, 4);
        foreach (var d in new long[] { 0, 1, -1 })
        {
            var expected = new float[12];
            for (var i = 0; i < 3; i++)
            {
                for (var j = 0; j < 4; j++) expected[(i * 4) + j] = j - i >= d ? (i * 4) + j : 0;
            }

            Assert.Equal(expected, t.Triu(d).ToArray<float>());
        }
    }
}
