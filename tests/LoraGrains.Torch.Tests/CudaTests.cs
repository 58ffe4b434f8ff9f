namespace LoraGrains.Torch.Tests;

/// <summary>Checks that need a CUDA device; skipped with a reason elsewhere (see <see cref="CudaFactAttribute"/>).</summary>
public sealed class CudaTests
{
    [CudaFact]
    public void To_cuda_and_back_round_trips_exactly()
    {
        using var scope = TensorScope.Enter();
        var cpu = Ref.Seq([3, 5], 7);
        var gpu = cpu.To(Device.Cuda());
        Assert.Equal(Device.Cuda(0), gpu.Device);
        Assert.True(gpu.Device.IsCuda);
        Assert.Equal(cpu.ToArray<float>(), gpu.ToArray<float>());        // ToArray copies to the host itself
        Assert.True(cpu.ContentEquals(gpu.To(Device.Cpu)));
        var h = Tensor.FromSpan<float>([1f / 3], [1], Device.Cuda(), DType.Float16);
        Assert.Equal((Half)0.333251953125, h.ToArray<Half>()[0]);
        Device.Cuda().Synchronize();
    }

    [CudaFact]
    public void Conv2d_on_cuda_matches_cpu()
    {
        using var scope = TensorScope.Enter();
        // Quarter-valued inputs are exact in TF32 (which cuDNN may use for float32 convolutions) and their products sum
        // exactly in float32, so both devices must agree to well within 1e-4 whatever algorithm cuDNN picks.
        var x = Ref.Seq([2, 8, 16, 16], 5);
        var w = Ref.Seq([16, 8, 3, 3], 7);
        var b = Ref.Seq([16], 11);
        var expected = Functional.Conv2d(x, w, b, padding: 1).ToArray<float>();
        var cuda = Device.Cuda();
        var actual = Functional.Conv2d(x.To(cuda), w.To(cuda), b.To(cuda), padding: 1);
        Assert.True(actual.Device.IsCuda);
        Ref.Close(expected, actual.ToArray<float>(), atol: 1e-4, rtol: 0);
    }

    [CudaFact]
    public void Float16_matmul_on_cuda_matches_float32_on_cpu()
    {
        using var scope = TensorScope.Enter();
        var a = Ref.Seq([32, 64], 5);
        var b = Ref.Seq([64, 16], 7);
        var expected = a.MatMul(b).ToArray<float>();   // exact: quarter values, small sums
        var cuda = Device.Cuda();
        var c = a.To(cuda, DType.Float16).MatMul(b.To(cuda, DType.Float16));
        Assert.Equal(DType.Float16, c.DType);
        // Quarter values and their products are exact in float16; the sums are multiples of 1/16 and may lose low bits
        // only when the result is 128 or more, which the relative tolerance allows.
        Ref.Close(expected, c.To(DType.Float32).ToArray<float>(), atol: 1e-2, rtol: 1e-3);
    }
}
