using System.Runtime.InteropServices;

namespace LoraGrains.Torch.Native;

/// <summary>Turns the shim's status codes into exceptions carrying libtorch's message.</summary>
internal static class Status
{
    internal const int Ok = 0;
    internal const int OutOfMemory = 2;
    internal const int InvalidArgument = 3;

    internal static void Check(int status)
    {
        if (status != Ok) Throw(status);
    }

    private static void Throw(int status)
    {
        var message = Marshal.PtrToStringUTF8(NativeMethods.lg_last_error()) ?? "unknown native error";
        throw status switch
        {
            OutOfMemory => new TorchOutOfMemoryException(message),
            _ => new TorchException(message),
        };
    }
}
