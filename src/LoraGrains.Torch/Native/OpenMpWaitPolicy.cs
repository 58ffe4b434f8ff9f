using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LoraGrains.Torch.Native;

/// <summary>
/// Makes libtorch's OpenMP worker threads sleep between parallel regions instead of spinning (OMP_WAIT_POLICY=passive)
/// unless the process environment already says otherwise. Spinning threads compete with the thread that is about to
/// hand them the next op, which on a busy or small machine turns every small op (the LoRA low-rank products above all)
/// into a multi-millisecond stall; measured in docs/benchmarks.md. libgomp reads the variable once, when it is loaded,
/// so it must be in the native environment before the first call into the shim: this runs as the module initializer
/// of this assembly, and uses libc's setenv because .NET's environment functions do not reach native getenv.
/// </summary>
internal static partial class OpenMpWaitPolicy
{
    private const string Variable = "OMP_WAIT_POLICY";

    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255", Justification = "Must run before libtorch (and so libgomp) is loaded by any call into this assembly.")]
    internal static void Apply()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable(Variable) is not null) return;
        try
        {
            // overwrite = 0: a value set natively after start-up still wins.
            _ = setenv(Variable, "passive", 0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc: libtorch keeps its default policy.
        }
    }

    [LibraryImport("libc.so.6", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int setenv(string name, string value, int overwrite);
}
