using System.Buffers.Binary;
using System.Text;

namespace LoraGrains.Cluster.Grains;

/// <summary>
/// A peer's answer to one pass on a <see cref="DenoiseLink"/>: a status as HTTP's (200, or the 4xx/5xx the pass got),
/// the peer's own time for the pass, and the noise as <see cref="TensorFrames"/> or the error's text.
/// </summary>
/// <param name="Status">200 when <paramref name="Body"/> is the noise.</param>
/// <param name="PeerMs">The pass's time on the peer (its <see cref="DenoiserGrain"/> turn), in ms: the caller subtracts it from its round trip to see what going remote cost.</param>
/// <param name="Body">The noise's frames, or the error as UTF-8 text.</param>
public sealed record DenoiseAnswer(int Status, double PeerMs, ArraySegment<byte> Body)
{
    /// <summary>Bytes before the body: the status and the peer's time.</summary>
    public const int HeadBytes = sizeof(ushort) + sizeof(double);

    /// <summary>A refusal with <paramref name="status"/> and its reason.</summary>
    public static DenoiseAnswer Error(int status, string message, double peerMs = 0) => new(status, peerMs, Encoding.UTF8.GetBytes(message));

    /// <summary>The error's text (when <see cref="Status"/> is not 200).</summary>
    public string ErrorText => Encoding.UTF8.GetString(Body);

    /// <summary>Writes the head of this answer on the wire (<see cref="HeadBytes"/>); <see cref="Body"/> follows it.</summary>
    public void WriteHead(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(destination, (ushort)Status);
        BinaryPrimitives.WriteDoubleLittleEndian(destination[sizeof(ushort)..], PeerMs);
    }

    /// <summary>Reads an answer from one link message (its body stays in <paramref name="message"/>).</summary>
    /// <exception cref="FormatException">The message is shorter than the head.</exception>
    public static DenoiseAnswer Parse(byte[] message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Length < HeadBytes) throw new FormatException($"an answer starts with a {HeadBytes}-byte head; this one has {message.Length} bytes");
        return new DenoiseAnswer(
            BinaryPrimitives.ReadUInt16LittleEndian(message),
            BinaryPrimitives.ReadDoubleLittleEndian(message.AsSpan(sizeof(ushort))),
            new ArraySegment<byte>(message, HeadBytes, message.Length - HeadBytes));
    }
}
