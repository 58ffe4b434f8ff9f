namespace LoraGrains.Torch.Tests;

/// <summary>
/// dtype conversions with their known rounding (IEEE round-to-nearest-even for the float narrowings, truncation
/// toward zero for float→integer), the managed round trips of every supported element type, ContentEquals and Item.
/// The rounding results were also checked with PyTorch 1.13 (Reference/reference_values.py prints them).
/// </summary>
public sealed class DTypeTests
{
    [Fact]
    public void Float32_to_Float16_rounds_to_nearest_and_overflows_to_infinity()
    {
        using var scope = TensorScope.Enter();
        var x = Ref.F([1f / 3, 65504f, 65520f, 1e-8f, -2.5f, 0.1f], 6);
        var h = x.To(DType.Float16);
        Assert.Equal(DType.Float16, h.DType);
        // 1/3 → 0x3555 = 0.333251953125; 65504 is the largest half; 65520 is the halfway point to 2^16 and rounds to
        // infinity; 1e-8 is below half the smallest subnormal (2^-24 ≈ 5.96e-8) and flushes to 0; 0.1 → 0.0999755859375.
        var values = h.ToArray<Half>().Select(v => (double)v).ToArray();
        Assert.Equal([0.333251953125, 65504, double.PositiveInfinity, 0, -2.5, 0.0999755859375], values);
        // Half → float32 is exact.
        Assert.Equal(values.Select(v => (float)v), h.To(DType.Float32).ToArray<float>());
    }

    [Fact]
    public void Float32_to_BFloat16_keeps_8_mantissa_bits_with_ties_to_even()
    {
        using var scope = TensorScope.Enter();
        // 1/3 → 0.333984375 (0x3EAB); 1 + 2^-8 is a tie and goes to the even 1.0; 1 + 3·2^-8 is a tie and goes up to 1 + 2^-6.
        var x = Ref.F([1f / 3, 1.00390625f, 1.01171875f, -7f], 4);
        var b = x.To(DType.BFloat16);
        Assert.Equal(DType.BFloat16, b.DType);
        Assert.Equal([0.333984375f, 1f, 1.015625f, -7f], b.To(DType.Float32).ToArray<float>());
    }

    [Fact]
    public void Float_to_integer_truncates_toward_zero()
    {
        using var scope = TensorScope.Enter();
        Assert.Equal([-2L, 0, 0, 2, 10_000_000_000], Ref.F([-2.7f, -0.5f, 0.5f, 2.7f, 1e10f], 5).To(DType.Int64).ToArray<long>());
        Assert.Equal([-2, 2, 123456], Ref.F([-2.7f, 2.7f, 123456.9f], 3).To(DType.Int32).ToArray<int>());
        Assert.Equal([(byte)0, 1, 254, 255], Ref.F([0f, 1.9f, 254.5f, 255f], 4).To(DType.UInt8).ToArray<byte>());
        Assert.Equal([(sbyte)-3, 3], Ref.F([-3.9f, 3.9f], 2).To(DType.Int8).ToArray<sbyte>());
        Assert.Equal([(short)-300, 300], Ref.F([-300.5f, 300.5f], 2).To(DType.Int16).ToArray<short>());
    }

    [Fact]
    public void To_bool_is_nonzero_and_back_is_zero_or_one()
    {
        using var scope = TensorScope.Enter();
        var b = Ref.F([0f, -0f, 0.5f, -3f, float.NaN], 5).To(DType.Bool);
        Assert.Equal([false, false, true, true, true], b.ToArray<bool>());
        Assert.Equal([0f, 0, 1, 1, 1], b.To(DType.Float32).ToArray<float>());
    }

    [Fact]
    public void Float64_conversions()
    {
        using var scope = TensorScope.Enter();
        // Widening is exact: 0.1f is 0.100000001490116119384765625.
        Assert.Equal((double)0.1f, Ref.F([0.1f], 1).To(DType.Float64).ToArray<double>()[0]);
        // Narrowing rounds to nearest: 0.1 → 0.1f; 1e-50 underflows to 0.
        var d = Tensor.FromArray(new[] { 0.1, 1e-50, -1e300 }, 3);
        Assert.Equal([0.1f, 0f, float.NegativeInfinity], d.To(DType.Float32).ToArray<float>());
        // int64 → float32 rounds to the nearest representable: 2^24 + 1 → 2^24 (tie, even), 2^24 + 3 → 2^24 + 4.
        var i = Tensor.FromArray(new long[] { 16777217, 16777219, -3 }, 3);
        Assert.Equal([16777216f, 16777220f, -3f], i.To(DType.Float32).ToArray<float>());
    }

    [Fact]
    public void To_same_dtype_without_copy_shares_storage_and_with_copy_does_not()
    {
        using var scope = TensorScope.Enter();
        var x = Ref.F([1, 2], 2);
        Assert.Equal(x.DataPointer, x.To(DType.Float32).DataPointer);
        Assert.NotEqual(x.DataPointer, x.To(DType.Float32, copy: true).DataPointer);
        Assert.Equal(x.DataPointer, x.To(Device.Cpu).DataPointer);
    }

    private static void RoundTrip<T>(T[] values, DType expected) where T : unmanaged
    {
        using var scope = TensorScope.Enter();
        var t = Tensor.FromSpan<T>(values, [2, values.Length / 2]);
        Assert.Equal(expected, t.DType);
        Assert.Equal([2L, values.Length / 2], t.Shape);
        Assert.Equal(values, t.ToArray<T>());
        var dst = new T[values.Length];
        t.CopyTo<T>(dst);
        Assert.Equal(values, dst);
    }

    [Fact]
    public void FromSpan_ToArray_round_trip_every_managed_type()
    {
        RoundTrip([1.5f, -0f, float.MaxValue, float.Epsilon, float.PositiveInfinity, -3.25f], DType.Float32);
        RoundTrip([0.1, -0d, double.MaxValue, double.Epsilon, double.NegativeInfinity, 1e-300], DType.Float64);
        RoundTrip([(Half)1.5, (Half)(-0.0), Half.MaxValue, Half.Epsilon, Half.NegativeInfinity, (Half)0.1], DType.Float16);
        RoundTrip([long.MinValue, long.MaxValue, 0, -1, 1L << 53, (1L << 53) + 1], DType.Int64);
        RoundTrip([int.MinValue, int.MaxValue, 0, -1], DType.Int32);
        RoundTrip([(short)-32768, (short)32767, (short)0, (short)-1], DType.Int16);
        RoundTrip([(sbyte)-128, (sbyte)127, (sbyte)0, (sbyte)-1], DType.Int8);
        RoundTrip([(byte)0, (byte)255, (byte)1, (byte)128], DType.UInt8);
        RoundTrip([true, false, false, true], DType.Bool);
    }

    [Fact]
    public void FromSpan_NaN_payload_survives_bit_for_bit()
    {
        using var scope = TensorScope.Enter();
        var nan = BitConverter.Int32BitsToSingle(0x7fc01234);
        var back = Tensor.FromArray([nan], 1).ToArray<float>()[0];
        Assert.Equal(0x7fc01234, BitConverter.SingleToInt32Bits(back));
    }

    [Fact]
    public void FromSpan_converts_to_a_target_dtype_in_one_step()
    {
        using var scope = TensorScope.Enter();
        var h = Tensor.FromSpan<float>([1f / 3, 2f], [2], dtype: DType.Float16);
        Assert.Equal(DType.Float16, h.DType);
        Assert.Equal([(Half)0.333251953125, (Half)2], h.ToArray<Half>());
        var i = Tensor.FromSpan<double>([2.9, -2.9], [2], Device.Cpu, DType.Int32);
        Assert.Equal([2, -2], i.ToArray<int>());
        var empty = Tensor.FromSpan<float>([], [0, 3]);
        Assert.Equal([0L, 3], empty.Shape);
        Assert.Empty(empty.ToArray<float>());
    }

    [Fact]
    public void ContentEquals_compares_shape_and_every_element()
    {
        using var scope = TensorScope.Enter();
        var a = Ref.F([1, 2, 3, 4], 2, 2);
        Assert.True(a.ContentEquals(Ref.F([1, 2, 3, 4], 2, 2)));
        Assert.True(a.ContentEquals(a.Transpose(0, 1).Contiguous().Transpose(0, 1)));
        Assert.False(a.ContentEquals(Ref.F([1, 2, 3, 5], 2, 2)));
        Assert.False(a.ContentEquals(Ref.F([1, 2, 3, 4], 4)));
        Assert.False(a.ContentEquals(Ref.F([1, 2, 3, 4], 1, 4)));
    }

    [Fact]
    public void Item_reads_one_element_of_any_dtype()
    {
        using var scope = TensorScope.Enter();
        Assert.Equal(2.5, Torch.Scalar(2.5).Item());
        Assert.Equal(-7.0, Torch.Full([1, 1], -7, DType.Int64).Item());
        Assert.Equal(1.0, Torch.Full([1], 1, DType.Bool).Item());
        Assert.Equal(0.333251953125, Torch.Full([], 1.0 / 3, DType.Float16).Item());
        Assert.Equal(200.0, Torch.Full([1], 200, DType.UInt8).Item());
        Assert.Equal(0.1, Torch.Scalar(0.1, DType.Float64).Item());
    }

    [Fact]
    public void Creation_functions_give_the_requested_values_and_dtypes()
    {
        using var scope = TensorScope.Enter();
        Assert.Equal([0f, 0, 0, 0], Torch.Zeros([2, 2]).ToArray<float>());
        Assert.Equal([1L, 1, 1], Torch.Ones([3], DType.Int64).ToArray<long>());
        Assert.Equal([Half.One, Half.One], Torch.Ones([2], DType.Float16).ToArray<Half>());
        Assert.Equal([2.5, 2.5], Torch.Full([2], 2.5, DType.Float64).ToArray<double>());
        Assert.Equal([0f, 0.5f, 1f, 1.5f], Torch.Arange(0, 2, 0.5).ToArray<float>());
        Assert.Equal([3L, 5, 7], Torch.Arange(3, 9, 2, DType.Int64).ToArray<long>());
        Assert.Equal([0f, 0.25f, 0.5f, 0.75f, 1f], Torch.Linspace(0, 1, 5).ToArray<float>());
        var e = Torch.Empty([2, 3], DType.Int32);
        Assert.Equal([2L, 3], e.Shape);
        Assert.Equal(DType.Int32, e.DType);
        Assert.Equal(Device.Cpu, e.Device);
    }
}
