using LoraGrains.Diffusion.Pipeline;

namespace LoraGrains.Diffusion.Tests.Pipeline;

/// <summary>The sd-tiny fixture model, loaded once per test class that uses it.</summary>
public sealed class SdTinyModel : IDisposable
{
    public SdTinyModel()
    {
        Torch.Torch.NumThreads = 2; // the references were computed with torch.set_num_threads(2)
        Model = StableDiffusionModel.Load(Fixtures.SdTiny);
    }

    public StableDiffusionModel Model { get; }

    public void Dispose() => Model.Dispose();
}
