using System.Runtime.InteropServices;

namespace LoraGrains.Torch.Tests;

/// <summary>libtorch's OpenMP threads wait passively unless the environment chose otherwise.</summary>
public sealed partial class OpenMpWaitPolicyTests
{
    [Fact]
    public void The_native_environment_asks_for_passive_waiting_before_libtorch_loads()
    {
        Assert.True(Torch.NumThreads > 0); // loads the shim, after the module initializer ran
        var inherited = Environment.GetEnvironmentVariable("OMP_WAIT_POLICY");
        var native = Marshal.PtrToStringUTF8(getenv("OMP_WAIT_POLICY"));
        Assert.Equal(inherited ?? "passive", native);
    }

    [LibraryImport("libc.so.6", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint getenv(string name);
}
