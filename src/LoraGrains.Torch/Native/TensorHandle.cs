using System.Runtime.InteropServices;

namespace LoraGrains.Torch.Native;

/// <summary>Owning handle of a native libtorch tensor; releasing it frees the native tensor.</summary>
internal sealed class TensorHandle : SafeHandle
{
    /// <summary>A non-owning null handle, passed where an optional tensor (a bias, a mask) is absent.</summary>
    internal static readonly TensorHandle Null = new(0, ownsHandle: false);

    public TensorHandle() : base(0, ownsHandle: true) { }

    internal TensorHandle(nint handle, bool ownsHandle = true) : base(0, ownsHandle) => SetHandle(handle);

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle()
    {
        NativeMethods.lg_tensor_free(handle);
        return true;
    }
}

/// <summary>Owning handle of a native random number generator.</summary>
internal sealed class GeneratorHandle : SafeHandle
{
    /// <summary>A non-owning null handle: "use libtorch's default generator".</summary>
    internal static readonly GeneratorHandle Null = new(0, ownsHandle: false);

    public GeneratorHandle() : base(0, ownsHandle: true) { }

    internal GeneratorHandle(nint handle, bool ownsHandle = true) : base(0, ownsHandle) => SetHandle(handle);

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle()
    {
        NativeMethods.lg_generator_free(handle);
        return true;
    }
}
