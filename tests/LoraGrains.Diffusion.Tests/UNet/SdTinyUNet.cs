using LoraGrains.Diffusion.Models;
using LoraGrains.Diffusion.Models.UNet;
using LoraGrains.Torch;
using LoraGrains.Torch.Safetensors;

namespace LoraGrains.Diffusion.Tests.UNet;

/// <summary>The sd-tiny UNet loaded once for a test class, with its reference tensors.</summary>
public sealed class SdTinyUNet : IDisposable
{
    private readonly SafetensorsFile weights;

    public SdTinyUNet()
    {
        Config = UNetConfig.FromFile(Fixtures.Path("unet", "config.json"));
        weights = SafetensorsFile.Open(Fixtures.Path("unet", "diffusion_pytorch_model.safetensors"));
        StateDict = StateDict.FromFile("unet", weights);
        Model = UNet2DConditionModel.Load(new ModelContext(StateDict, Device.Cpu, DType.Float32), Config);
        References = SafetensorsFile.Open(Fixtures.Path("refs", "unet.safetensors"));
    }

    public UNetConfig Config { get; }

    public StateDict StateDict { get; }

    public UNet2DConditionModel Model { get; }

    /// <summary>refs/unet.safetensors.</summary>
    public SafetensorsFile References { get; }

    /// <summary>The fixture's weight file.</summary>
    public SafetensorsFile Weights => weights;

    public void Dispose()
    {
        Model.Dispose();
        weights.Dispose();
        References.Dispose();
    }
}
