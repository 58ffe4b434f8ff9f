using LoraGrains.Torch;

// Placeholder entry: replaced by the command set (generate, serve, …) as the engine lands.
Console.WriteLine($"libtorch {Torch.LibtorchVersion}, {Torch.NumThreads} threads, CUDA devices: {Device.CudaDeviceCount}");
