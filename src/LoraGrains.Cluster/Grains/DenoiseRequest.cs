using System.Buffers.Binary;
using LoraGrains.Cluster.Http;
using LoraGrains.Diffusion.Schedulers;

namespace LoraGrains.Cluster.Grains;

/// <summary>
/// One Composite pass a coordinator asks of a peer over a <see cref="DenoiseLink"/>: one UNet evaluation with one
/// adapter active. On the wire: the adapter's content hash (64 ASCII hex digits), its scale (float64, little-endian),
/// then the latents, timestep and text states as <see cref="TensorFrames"/>.
/// </summary>
/// <param name="AdapterHash">The adapter (content hash), loaded from the shared data directory if not resident.</param>
/// <param name="Scale">Its effective scale.</param>
/// <param name="Latents">The scaled model input of one guidance branch (batch B).</param>
/// <param name="Timestep">The timestep, a scalar tensor.</param>
/// <param name="TextStates">The text encoder states of the branches (batch branches·B); the latents are evaluated once per branch.</param>
public sealed record DenoiseRequest(string AdapterHash, double Scale, StateTensor Latents, StateTensor Timestep, StateTensor TextStates)
{
    private const int HashBytes = 64;

    /// <summary>Bytes before the tensor frames: the adapter hash and the scale.</summary>
    public const int HeadBytes = HashBytes + sizeof(double);

    /// <summary>Writes the head of a pass of <paramref name="adapterHash"/> at <paramref name="scale"/> (<see cref="HeadBytes"/>); the tensor frames follow it.</summary>
    /// <exception cref="ArgumentException">The hash is not 64 ASCII characters.</exception>
    public static void WriteHead(Span<byte> destination, string adapterHash, double scale)
    {
        ArgumentNullException.ThrowIfNull(adapterHash);
        if (adapterHash.Length != HashBytes || !System.Text.Ascii.IsValid(adapterHash))
        {
            throw new ArgumentException($"an adapter content hash is {HashBytes} hex digits, not '{adapterHash}'", nameof(adapterHash));
        }

        System.Text.Encoding.ASCII.GetBytes(adapterHash, destination);
        BinaryPrimitives.WriteDoubleLittleEndian(destination[HashBytes..], scale);
    }

    /// <summary>Reads a pass from one link message.</summary>
    /// <exception cref="HttpApiException">400 naming what is malformed.</exception>
    public static DenoiseRequest Parse(ReadOnlySpan<byte> message)
    {
        if (message.Length < HeadBytes)
        {
            throw new HttpApiException(400, $"a pass starts with the adapter hash and the scale ({HeadBytes} bytes); this one has {message.Length} bytes", "adapterHash");
        }

        var adapter = System.Text.Encoding.ASCII.GetString(message[..HashBytes]);
        var scale = BinaryPrimitives.ReadDoubleLittleEndian(message[HashBytes..]);
        StateTensor[] tensors;
        try
        {
            tensors = TensorFrames.Decode(message[HeadBytes..], 3);
        }
        catch (FormatException e)
        {
            throw new HttpApiException(400, $"a pass carries three tensor frames (latents, timestep, text states): {e.Message}", "tensors");
        }

        return new DenoiseRequest(adapter, scale, tensors[0], tensors[1], tensors[2]);
    }
}
