using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models;

/// <summary>
/// Frees forward-pass intermediates as soon as their successor exists. PyTorch frees them by reference
/// count; waiting for the enclosing <see cref="TensorScope"/> to close instead would keep every stage of a
/// VAE decode alive at once and multiply peak memory at high resolutions.
/// </summary>
internal static class IntermediateTensors
{
    /// <summary>
    /// Disposes <paramref name="previous"/> and returns <paramref name="next"/>: <c>h = h.ReplacedBy(conv.Forward(h))</c>.
    /// Only for tensors the caller created: never for an input it was handed.
    /// </summary>
    public static Tensor ReplacedBy(this Tensor previous, Tensor next)
    {
        if (!ReferenceEquals(previous, next)) previous.Dispose();
        return next;
    }
}
