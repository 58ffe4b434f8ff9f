using LoraGrains.Diffusion.Pipeline;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Tests.Pipeline;

/// <summary>Keeps copies of the latents a run produces.</summary>
internal sealed class LatentRecorder : IDenoiseObserver, IDisposable
{
    public Tensor? Initial { get; private set; }

    public List<Tensor> Steps { get; } = [];

    public List<IReadOnlyList<string>> Active { get; } = [];

    public void OnInitialLatents(Tensor latents) => Initial = Keep(latents);

    public void OnStep(int step, double timestep, Tensor latents, IReadOnlyList<string> activeAdapters)
    {
        Steps.Add(Keep(latents));
        Active.Add(activeAdapters);
    }

    private static Tensor Keep(Tensor t)
    {
        using var scope = TensorScope.Enter();
        return scope.Disown(t.To(Device.Cpu, DType.Float32, copy: true));
    }

    public void Dispose()
    {
        Initial?.Dispose();
        foreach (var t in Steps) t.Dispose();
    }
}
