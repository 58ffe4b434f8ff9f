using LoraGrains.Torch.Native;

namespace LoraGrains.Torch;

/// <summary>Neural-network operations, as <c>torch.nn.functional</c>.</summary>
public static unsafe class Functional
{
    private static TensorHandle OrNull(Tensor? t) => t?.Handle ?? TensorHandle.Null;

    /// <summary>y = x·Wᵀ + b.</summary>
    public static Tensor Linear(Tensor input, Tensor weight, Tensor? bias = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        return Tensor.Wrap(NativeMethods.lg_linear(input.Handle, weight.Handle, OrNull(bias), out var r), r);
    }

    /// <summary>2-D convolution of NCHW input.</summary>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int dilation = 1, int groups = 1) =>
        Conv2d(input, weight, bias, (stride, stride), (padding, padding), (dilation, dilation), groups);

    /// <summary>2-D convolution with per-axis stride, padding and dilation.</summary>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias, (int H, int W) stride, (int H, int W) padding, (int H, int W) dilation, int groups = 1)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        var s = stackalloc long[] { stride.H, stride.W };
        var p = stackalloc long[] { padding.H, padding.W };
        var d = stackalloc long[] { dilation.H, dilation.W };
        return Tensor.Wrap(NativeMethods.lg_conv2d(input.Handle, weight.Handle, OrNull(bias), s, p, d, groups, out var r), r);
    }

    /// <summary>Group normalisation over channel groups of NC… input.</summary>
    public static Tensor GroupNorm(Tensor input, int numGroups, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
    {
        ArgumentNullException.ThrowIfNull(input);
        return Tensor.Wrap(NativeMethods.lg_group_norm(input.Handle, numGroups, OrNull(weight), OrNull(bias), eps, out var r), r);
    }

    /// <summary>Layer normalisation over the trailing <paramref name="normalizedShape"/>.</summary>
    public static Tensor LayerNorm(Tensor input, long[] normalizedShape, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(normalizedShape);
        fixed (long* s = normalizedShape)
        {
            return Tensor.Wrap(NativeMethods.lg_layer_norm(input.Handle, s, normalizedShape.Length, OrNull(weight), OrNull(bias), eps, out var r), r);
        }
    }

    /// <summary>Softmax along <paramref name="dim"/>.</summary>
    public static Tensor Softmax(Tensor input, long dim)
    {
        ArgumentNullException.ThrowIfNull(input);
        return Tensor.Wrap(NativeMethods.lg_softmax(input.Handle, dim, out var r), r);
    }

    /// <summary>Log-softmax along <paramref name="dim"/>.</summary>
    public static Tensor LogSoftmax(Tensor input, long dim)
    {
        ArgumentNullException.ThrowIfNull(input);
        return Tensor.Wrap(NativeMethods.lg_log_softmax(input.Handle, dim, out var r), r);
    }

    /// <summary>
    /// softmax(Q·Kᵀ·scale + mask)·V over the last two dimensions; the fused kernel on libtorch ≥ 2.1,
    /// matmul–softmax–matmul before. A boolean mask keeps where true; a float mask is added.
    /// </summary>
    public static Tensor ScaledDotProductAttention(Tensor query, Tensor key, Tensor value, Tensor? mask = null, bool isCausal = false, double? scale = null)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        return Tensor.Wrap(
            NativeMethods.lg_scaled_dot_product_attention(query.Handle, key.Handle, value.Handle, OrNull(mask), isCausal ? 1 : 0, scale ?? 0, out var r),
            r);
    }

    /// <summary>input·beta + alpha·(batch1 @ batch2).</summary>
    public static Tensor Baddbmm(Tensor input, Tensor batch1, Tensor batch2, double beta = 1, double alpha = 1)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(batch1);
        ArgumentNullException.ThrowIfNull(batch2);
        return Tensor.Wrap(NativeMethods.lg_baddbmm(input.Handle, batch1.Handle, batch2.Handle, beta, alpha, out var r), r);
    }

    /// <summary>Nearest-neighbour resize of NCHW input to (height, width).</summary>
    public static Tensor InterpolateNearest(Tensor input, long height, long width)
    {
        ArgumentNullException.ThrowIfNull(input);
        return Tensor.Wrap(NativeMethods.lg_upsample_nearest2d(input.Handle, height, width, out var r), r);
    }

    /// <summary>Nearest-neighbour upsampling of NCHW input by an integer factor.</summary>
    public static Tensor InterpolateNearest(Tensor input, int scaleFactor)
    {
        ArgumentNullException.ThrowIfNull(input);
        return InterpolateNearest(input, input.Size(-2) * scaleFactor, input.Size(-1) * scaleFactor);
    }

    /// <summary>Constant padding; <paramref name="pad"/> lists (before, after) pairs from the last dimension backwards, as F.pad.</summary>
    public static Tensor Pad(Tensor input, long[] pad, double value = 0)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(pad);
        fixed (long* p = pad)
        {
            return Tensor.Wrap(NativeMethods.lg_constant_pad(input.Handle, p, pad.Length, value, out var r), r);
        }
    }
}
