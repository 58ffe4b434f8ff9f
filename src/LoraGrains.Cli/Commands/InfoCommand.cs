using LoraGrains.Torch;

namespace LoraGrains.Cli.Commands;

/// <summary><c>lora-grains info</c>: what this machine offers.</summary>
internal static class InfoCommand
{
    public static int Run()
    {
        Console.WriteLine($"libtorch {Torch.Torch.LibtorchVersion}, {Torch.Torch.NumThreads} threads, CUDA devices: {Device.CudaDeviceCount}");
        return 0;
    }
}
