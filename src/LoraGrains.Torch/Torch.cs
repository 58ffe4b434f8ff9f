using LoraGrains.Torch.Native;

namespace LoraGrains.Torch;

/// <summary>Tensor creation and process-wide settings, as the <c>torch</c> module.</summary>
public static unsafe class Torch
{
    /// <summary>The libtorch version the shim was built against, e.g. 1.13.1.</summary>
    public static Version LibtorchVersion
    {
        get
        {
            Status.Check(NativeMethods.lg_torch_version(out var major, out var minor, out var patch));
            return new Version(major, minor, patch);
        }
    }

    /// <summary>Threads libtorch uses for intra-op parallelism (torch.get_num_threads).</summary>
    public static int NumThreads
    {
        get
        {
            Status.Check(NativeMethods.lg_get_num_threads(out var n));
            return n;
        }
        set => Status.Check(NativeMethods.lg_set_num_threads(value));
    }

    /// <summary>An uninitialised tensor.</summary>
    public static Tensor Empty(long[] shape, DType dtype = DType.Float32, Device? device = null)
    {
        var d = device ?? Device.Cpu;
        fixed (long* s = shape)
        {
            return Tensor.Wrap(NativeMethods.lg_empty(s, shape.Length, (int)dtype, (int)d.Type, d.Index, out var r), r);
        }
    }

    /// <summary>A tensor filled with <paramref name="value"/>.</summary>
    public static Tensor Full(long[] shape, double value, DType dtype = DType.Float32, Device? device = null)
    {
        var d = device ?? Device.Cpu;
        fixed (long* s = shape)
        {
            return Tensor.Wrap(NativeMethods.lg_full(s, shape.Length, value, (int)dtype, (int)d.Type, d.Index, out var r), r);
        }
    }

    /// <summary>A tensor of zeros.</summary>
    public static Tensor Zeros(long[] shape, DType dtype = DType.Float32, Device? device = null) => Full(shape, 0, dtype, device);

    /// <summary>A tensor of ones.</summary>
    public static Tensor Ones(long[] shape, DType dtype = DType.Float32, Device? device = null) => Full(shape, 1, dtype, device);

    /// <summary>A zero-dimensional tensor holding <paramref name="value"/>.</summary>
    public static Tensor Scalar(double value, DType dtype = DType.Float32, Device? device = null) => Full([], value, dtype, device);

    /// <summary>Values start, start+step, … below end (torch.arange).</summary>
    public static Tensor Arange(double start, double end, double step = 1, DType dtype = DType.Float32, Device? device = null)
    {
        var d = device ?? Device.Cpu;
        return Tensor.Wrap(NativeMethods.lg_arange(start, end, step, (int)dtype, (int)d.Type, d.Index, out var r), r);
    }

    /// <summary><paramref name="steps"/> evenly spaced values from start to end inclusive (torch.linspace).</summary>
    public static Tensor Linspace(double start, double end, long steps, DType dtype = DType.Float32, Device? device = null)
    {
        var d = device ?? Device.Cpu;
        return Tensor.Wrap(NativeMethods.lg_linspace(start, end, steps, (int)dtype, (int)d.Type, d.Index, out var r), r);
    }

    /// <summary>
    /// Standard normal samples. With a <paramref name="generator"/> the numbers are drawn on the CPU
    /// (as diffusers does for reproducibility) and moved to <paramref name="device"/>.
    /// </summary>
    public static Tensor Randn(long[] shape, Generator? generator = null, DType dtype = DType.Float32, Device? device = null)
    {
        var d = device ?? Device.Cpu;
        var drawOn = generator is not null ? Device.Cpu : d;
        Tensor t;
        fixed (long* s = shape)
        {
            t = Tensor.Wrap(
                NativeMethods.lg_randn(s, shape.Length, generator?.Handle ?? GeneratorHandle.Null, (int)dtype, (int)drawOn.Type, drawOn.Index, out var r),
                r);
        }

        if (drawOn == d) return t;
        using (t)
        {
            return t.To(d);
        }
    }

    /// <summary>Concatenates along <paramref name="dim"/>.</summary>
    public static Tensor Cat(IReadOnlyList<Tensor> tensors, long dim = 0) => Join(tensors, dim, stack: false);

    /// <summary>Stacks along a new dimension <paramref name="dim"/>.</summary>
    public static Tensor Stack(IReadOnlyList<Tensor> tensors, long dim = 0) => Join(tensors, dim, stack: true);

    private static Tensor Join(IReadOnlyList<Tensor> tensors, long dim, bool stack)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (tensors.Count == 0) throw new ArgumentException("expected at least one tensor", nameof(tensors));
        var handles = new nint[tensors.Count];
        var added = new bool[tensors.Count];
        try
        {
            for (var i = 0; i < handles.Length; i++)
            {
                tensors[i].Handle.DangerousAddRef(ref added[i]);
                handles[i] = tensors[i].Handle.DangerousGetHandle();
            }

            fixed (nint* h = handles)
            {
                nint r;
                var status = stack
                    ? NativeMethods.lg_stack(h, handles.Length, dim, out r)
                    : NativeMethods.lg_cat(h, handles.Length, dim, out r);
                return Tensor.Wrap(status, r);
            }
        }
        finally
        {
            for (var i = 0; i < handles.Length; i++)
            {
                if (added[i]) tensors[i].Handle.DangerousRelease();
            }
        }
    }

    /// <summary>Elements of <paramref name="a"/> where <paramref name="condition"/> holds, else of <paramref name="b"/>.</summary>
    public static Tensor Where(Tensor condition, Tensor a, Tensor b)
    {
        ArgumentNullException.ThrowIfNull(condition);
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return Tensor.Wrap(NativeMethods.lg_where(condition.Handle, a.Handle, b.Handle, out var r), r);
    }
}
