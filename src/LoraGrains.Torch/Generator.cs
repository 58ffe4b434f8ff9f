using LoraGrains.Torch.Native;

namespace LoraGrains.Torch;

/// <summary>
/// A CPU random number generator (mt19937) seeded exactly like <c>torch.Generator().manual_seed(seed)</c>,
/// so the same seed draws the same numbers as PyTorch.
/// </summary>
public sealed class Generator : IDisposable
{
    internal GeneratorHandle Handle { get; }

    /// <summary>Creates a generator seeded with <paramref name="seed"/>.</summary>
    public Generator(ulong seed)
    {
        Status.Check(NativeMethods.lg_generator_new(seed, out var h));
        Handle = new GeneratorHandle(h);
        Seed = seed;
    }

    /// <summary>The seed this generator was created with.</summary>
    public ulong Seed { get; }

    /// <summary>The full generator state (for checkpoints), as PyTorch's <c>get_state()</c> bytes.</summary>
    public byte[] GetState()
    {
        Status.Check(NativeMethods.lg_generator_get_state(Handle, out var s));
        using var state = new Tensor(s);
        return state.ToArray<byte>();
    }

    /// <summary>Restores a state returned by <see cref="GetState"/>.</summary>
    public void SetState(ReadOnlySpan<byte> state)
    {
        using var t = Tensor.FromSpan(state, [state.Length]);
        Status.Check(NativeMethods.lg_generator_set_state(Handle, t.Handle));
    }

    /// <inheritdoc />
    public void Dispose() => Handle.Dispose();
}
