using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.Vae;

/// <summary>
/// The diagonal Gaussian the VAE encoder predicts (diffusers' <c>DiagonalGaussianDistribution</c>):
/// mean, log-variance clamped to [−30, 20], and std = exp(logvar / 2). Owns its three tensors.
/// </summary>
public sealed class LatentDistribution : IDisposable
{
    /// <summary>Lower clamp of the log-variance (diffusers).</summary>
    public const double MinLogVar = -30.0;

    /// <summary>Upper clamp of the log-variance (diffusers).</summary>
    public const double MaxLogVar = 20.0;

    /// <summary>Takes ownership of the three tensors.</summary>
    public LatentDistribution(Tensor mean, Tensor logVar, Tensor std)
    {
        Mean = mean;
        LogVar = logVar;
        Std = std;
    }

    /// <summary>Mean [N, latent, h, w]; also the mode.</summary>
    public Tensor Mean { get; }

    /// <summary>Clamped log-variance.</summary>
    public Tensor LogVar { get; }

    /// <summary>Standard deviation exp(0.5·logvar).</summary>
    public Tensor Std { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        Mean.Dispose();
        LogVar.Dispose();
        Std.Dispose();
    }
}
