using System.Runtime.InteropServices;
using System.Text;
using LoraGrains.Torch.Native;

namespace LoraGrains.Torch;

/// <summary>
/// An n-dimensional array held by libtorch on a <see cref="LoraGrains.Torch.Device"/>. Dispose it (or create it
/// inside a <see cref="TensorScope"/>) to free the native memory promptly; the finalizer of the
/// underlying handle is only a safety net. Method names follow PyTorch's.
/// </summary>
public sealed unsafe partial class Tensor : IDisposable
{
    private const int MaxDims = 16;
    private long[]? shape;
    private DType dtype;
    private Device device;

    internal Tensor(nint handle)
    {
        Handle = new TensorHandle(handle);
        TensorScope.Register(this);
    }

    internal TensorHandle Handle { get; }

    /// <summary>True once the native tensor has been freed.</summary>
    public bool IsDisposed => Handle.IsClosed;

    /// <summary>The size of every dimension (a copy).</summary>
    public long[] Shape => (long[])Info().Clone();

    /// <summary>Number of dimensions.</summary>
    public int Dim => Info().Length;

    /// <summary>Number of elements.</summary>
    public long NumEl
    {
        get
        {
            long n = 1;
            foreach (var s in Info()) n *= s;
            return n;
        }
    }

    /// <summary>Element type.</summary>
    public DType DType
    {
        get
        {
            Info();
            return dtype;
        }
    }

    /// <summary>Device holding the data.</summary>
    public Device Device
    {
        get
        {
            Info();
            return device;
        }
    }

    /// <summary>Size of dimension <paramref name="dim"/> (negative counts from the end).</summary>
    public long Size(int dim)
    {
        var s = Info();
        return s[dim < 0 ? dim + s.Length : dim];
    }

    /// <summary>True when the elements are laid out contiguously in row-major order.</summary>
    public bool IsContiguous
    {
        get
        {
            Status.Check(NativeMethods.lg_tensor_is_contiguous(Handle, out var c));
            return c != 0;
        }
    }

    /// <summary>Bytes of the elements (<see cref="NumEl"/> times the element size).</summary>
    public long ByteSize => NumEl * DType.ElementSize();

    /// <summary>True when the data is page-locked (pinned) host memory; always false without CUDA.</summary>
    public bool IsPinned
    {
        get
        {
            Status.Check(NativeMethods.lg_tensor_is_pinned(Handle, out var pinned));
            return pinned != 0;
        }
    }

    /// <summary>Address of the first element (valid while the tensor lives; CPU tensors only for reading).</summary>
    public nint DataPointer
    {
        get
        {
            Status.Check(NativeMethods.lg_tensor_data_ptr(Handle, out var p));
            return p;
        }
    }

    private long[] Info()
    {
        if (shape is not null) return shape;
        var dims = stackalloc long[MaxDims];
        Status.Check(NativeMethods.lg_tensor_info(Handle, out var nd, dims, MaxDims, out var dt, out var devType, out var devIndex));
        var s = new long[nd];
        for (var i = 0; i < nd; i++) s[i] = dims[i];
        dtype = (DType)dt;
        device = new Device((DeviceType)devType, devIndex);
        shape = s;
        return s;
    }

    /// <summary>Frees the native tensor now.</summary>
    public void Dispose() => Handle.Dispose();

    internal static Tensor Wrap(int status, nint result)
    {
        Status.Check(status);
        return new Tensor(result);
    }

    // ---- data in and out -------------------------------------------------------------------

    /// <summary>Copies <paramref name="data"/> into a new tensor of the given shape (dtype from <typeparamref name="T"/>).</summary>
    public static Tensor FromArray<T>(T[] data, params long[] shape) where T : unmanaged =>
        FromSpan<T>(data, shape);

    /// <summary>Copies <paramref name="data"/> into a new tensor, converting to <paramref name="dtype"/> and placing it on <paramref name="device"/> with one copy.</summary>
    public static Tensor FromSpan<T>(ReadOnlySpan<T> data, ReadOnlySpan<long> shape, Device? device = null, DType? dtype = null)
        where T : unmanaged
    {
        var src = DTypeExtensions.Of<T>();
        fixed (T* p = data)
        {
            return FromPointer(p, data.Length * (long)sizeof(T), src, shape, dtype ?? src, device ?? Device.Cpu);
        }
    }

    /// <summary>
    /// Copies raw little-endian elements of <paramref name="sourceType"/> (e.g. a memory-mapped safetensors
    /// range) into a new tensor of <paramref name="targetType"/> on <paramref name="device"/>, in one copy.
    /// </summary>
    public static Tensor FromPointer(void* data, long byteLength, DType sourceType, ReadOnlySpan<long> shape, DType targetType, Device device)
    {
        long n = 1;
        foreach (var s in shape)
        {
            if (s < 0) throw new ArgumentException($"negative dimension {s} in shape", nameof(shape));
            n *= s;
        }

        if (n * sourceType.ElementSize() != byteLength)
        {
            throw new ArgumentException(
                $"shape [{string.Join(", ", shape.ToArray())}] of {sourceType} needs {n * sourceType.ElementSize()} bytes but {byteLength} were given",
                nameof(shape));
        }

        fixed (long* sp = shape)
        {
            return Wrap(
                NativeMethods.lg_tensor_from_host(data, sp, shape.Length, (int)sourceType, (int)targetType, (int)device.Type, device.Index, out var r),
                r);
        }
    }

    /// <summary>Copies all elements (moved to the CPU, row-major) into a new managed array.</summary>
    public T[] ToArray<T>() where T : unmanaged
    {
        var result = new T[NumEl];
        CopyTo<T>(result);
        return result;
    }

    /// <summary>Copies all elements (moved to the CPU, row-major) into <paramref name="destination"/>.</summary>
    public void CopyTo<T>(Span<T> destination) where T : unmanaged
    {
        if (DTypeExtensions.Of<T>() != DType)
            throw new ArgumentException($"tensor is {DType}, cannot copy into {typeof(T).Name} elements");
        if (destination.Length != NumEl)
            throw new ArgumentException($"destination has {destination.Length} elements, tensor has {NumEl}");
        fixed (T* p = destination)
        {
            Status.Check(NativeMethods.lg_tensor_copy_to_host(Handle, p, destination.Length * (long)sizeof(T)));
        }
    }

    /// <summary>Copies the raw little-endian bytes of all elements (moved to the CPU, row-major) into <paramref name="destination"/>.</summary>
    public void CopyBytesTo(Span<byte> destination)
    {
        var needed = ByteSize;
        if (destination.Length != needed)
            throw new ArgumentException($"destination has {destination.Length} bytes, tensor has {needed}");
        fixed (byte* p = destination)
        {
            Status.Check(NativeMethods.lg_tensor_copy_to_host(Handle, p, destination.Length));
        }
    }

    /// <summary>The value of a one-element tensor as a double.</summary>
    public double Item()
    {
        Status.Check(NativeMethods.lg_tensor_item(Handle, out var v));
        return v;
    }

    /// <summary>True when both tensors have the same shape and exactly the same elements (torch.equal).</summary>
    public bool ContentEquals(Tensor other)
    {
        ArgumentNullException.ThrowIfNull(other);
        Status.Check(NativeMethods.lg_tensor_equal(Handle, other.Handle, out var eq));
        return eq != 0;
    }

    /// <summary>A new tensor on <paramref name="target"/> (this one when already there and <paramref name="copy"/> is false).</summary>
    public Tensor To(Device target, bool copy = false) => To(target, DType, copy);

    /// <summary>A new tensor of <paramref name="type"/>.</summary>
    public Tensor To(DType type, bool copy = false) => To(Device, type, copy);

    /// <summary>
    /// A new tensor of <paramref name="type"/> on <paramref name="target"/>. With <paramref name="nonBlocking"/>, a copy
    /// from pinned host memory to a CUDA device is made without waiting (queued on the current stream, before any later
    /// work on it); otherwise it changes nothing.
    /// </summary>
    public Tensor To(Device target, DType type, bool copy = false, bool nonBlocking = false) =>
        Wrap(NativeMethods.lg_to(Handle, (int)type, (int)target.Type, target.Index, copy ? 1 : 0, nonBlocking ? 1 : 0, out var r), r);

    /// <summary>A page-locked (pinned) host copy of this CPU tensor, from which CUDA copies are fast and can be asynchronous.</summary>
    /// <exception cref="TorchException">The tensor is not on the CPU, or CUDA is not available (pinning needs the CUDA host allocator).</exception>
    public Tensor PinMemory() => Wrap(NativeMethods.lg_pin_memory(Handle, out var r), r);

    /// <summary>Short description: shape, dtype and device.</summary>
    public override string ToString()
    {
        if (IsDisposed) return "Tensor(disposed)";
        var sb = new StringBuilder("Tensor[");
        sb.Append(string.Join(", ", Info()));
        sb.Append("] ").Append(DType.ToString().ToLowerInvariant()).Append(' ').Append(Device);
        return sb.ToString();
    }
}
