using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.UNet;

/// <summary>
/// diffusers' Timesteps / get_timestep_embedding: sinusoidal features of (possibly fractional) timesteps, with
/// frequencies exp(−ln(10000)·i / (half − shift)), sines then cosines, or cosines first with flip_sin_to_cos.
/// </summary>
internal static class TimestepProjection
{
    /// <summary>
    /// The [B, <paramref name="dim"/>] float32 embedding of <paramref name="timesteps"/> [B] (any numeric dtype),
    /// computed with the same operations in the same order as diffusers, so it matches to the last bit.
    /// </summary>
    public static Tensor Forward(Tensor timesteps, int dim, bool flipSinToCos, int freqShift)
    {
        using var scope = TensorScope.Enter();
        var half = dim / 2;
        var exponent = Torch.Torch.Arange(0, half, 1, DType.Float32, timesteps.Device) * -Math.Log(10000);
        exponent.DivInPlace(half - freqShift);
        var frequencies = exponent.Exp();
        var args = timesteps.To(DType.Float32).Unsqueeze(1) * frequencies.Unsqueeze(0);
        var sin = args.Sin();
        var cos = args.Cos();
        var emb = flipSinToCos ? Torch.Torch.Cat([cos, sin], -1) : Torch.Torch.Cat([sin, cos], -1);
        if (dim % 2 == 1) emb = Functional.Pad(emb, [0, 1]);
        return scope.MoveToOuter(emb);
    }
}
