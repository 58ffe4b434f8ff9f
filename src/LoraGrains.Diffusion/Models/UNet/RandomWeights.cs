using System.Buffers;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.UNet;

/// <summary>
/// Deterministic random weights for a <see cref="StateDict.Synthetic"/> state dict, initialised as PyTorch's
/// nn.Linear/nn.Conv2d do by default: matrices and kernels U(−1/√fan_in, 1/√fan_in), so activations keep their
/// scale through the network; 1-D weights (norm scales) one, biases zero. Each tensor has its own stream,
/// seeded from the seed and its name, so values do not depend on load order.
/// </summary>
/// <remarks>
/// Drawn in managed code (SplitMix64) rather than with a torch <see cref="Generator"/>: it is faster for the
/// ~860M values of a full SD UNet and has no native generator lock in the way.
/// </remarks>
internal static class RandomWeights
{
    private const int ChunkSize = 1 << 20;

    /// <summary>A state dict for <paramref name="component"/> whose every tensor is drawn from <paramref name="seed"/>.</summary>
    public static StateDict Create(string component, ulong seed) =>
        StateDict.Synthetic(component, (name, shape, device, dtype) => Draw(seed, name, shape, device, dtype));

    private static Tensor Draw(ulong seed, string name, long[] shape, Device device, DType dtype)
    {
        if (shape.Length == 1)
            return name.EndsWith(".bias", StringComparison.Ordinal) ? Torch.Torch.Zeros(shape, dtype, device) : Torch.Torch.Ones(shape, dtype, device);
        long fanIn = 1;
        for (var i = 1; i < shape.Length; i++) fanIn *= shape[i];
        var count = checked((int)(shape[0] * fanIn));
        var bound = (float)(1.0 / Math.Sqrt(fanIn));
        var buffer = ArrayPool<float>.Shared.Rent(count);
        try
        {
            var baseState = seed ^ NameHash(name);
            // Fixed-size chunks with their own streams: parallel, yet the values do not depend on the thread count.
            var chunks = (count + ChunkSize - 1) / ChunkSize;
            Parallel.For(0, chunks, c =>
            {
                var state = baseState + (ulong)c * 0xD1B54A32D192ED03UL;
                var values = buffer.AsSpan(c * ChunkSize, Math.Min(ChunkSize, count - c * ChunkSize));
                for (var i = 0; i < values.Length; i++)
                {
                    // Top 24 bits → a float in [0, 1) exactly representable, mapped to [−bound, bound).
                    var u = (SplitMix64(ref state) >> 40) * (1.0f / (1 << 24));
                    values[i] = (2 * u - 1) * bound;
                }
            });

            return Tensor.FromSpan<float>(buffer.AsSpan(0, count), shape, device, dtype);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(buffer);
        }
    }

    private static ulong SplitMix64(ref ulong state)
    {
        var z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>FNV-1a over the UTF-16 code units: stable across runs and processes, unlike string.GetHashCode.</summary>
    private static ulong NameHash(string name)
    {
        var h = 0xCBF29CE484222325UL;
        foreach (var c in name)
        {
            h ^= c;
            h *= 0x100000001B3UL;
        }

        return h;
    }
}
