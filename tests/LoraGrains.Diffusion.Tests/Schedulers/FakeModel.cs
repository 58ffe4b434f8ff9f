using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Tests.Schedulers;

/// <summary>The fixture's stand-in for the UNet: eps = 0.1·x_in + 0.05·sin(t).</summary>
internal static class FakeModel
{
    public static Tensor Eps(Tensor modelInput, double timestep) => (modelInput * 0.1) + (0.05 * Math.Sin(timestep));

    /// <summary>The fixture's initial sample: randn([1, 4, 8, 8], Generator(5)) · init_noise_sigma.</summary>
    public static Tensor InitialSample(double initNoiseSigma)
    {
        using var g = new Generator(5);
        using var noise = Torch.Torch.Randn([1, 4, 8, 8], g);
        return noise * initNoiseSigma;
    }
}
