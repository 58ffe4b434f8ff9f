namespace LoraGrains.Diffusion.Text;

/// <summary>
/// A single-byte code page as ftfy uses it to undo mojibake: ASCII maps to itself, the upper
/// half comes from the code page, and in ftfy's "sloppy" variants undefined bytes decode as
/// Latin-1 while byte 0x1A stands for U+FFFD.
/// </summary>
internal sealed partial class SingleByteEncoding
{
    private const byte SubstituteByte = 0x1A;

    private readonly string _upperHalf;
    private readonly char _substitute;
    private readonly Dictionary<char, byte> _upperHalfBytes;

    private SingleByteEncoding(string name, bool sloppy, string substitute, string upperHalf)
    {
        Name = name;
        IsSloppy = sloppy;
        _substitute = substitute[0];
        _upperHalf = upperHalf;
        _upperHalfBytes = new Dictionary<char, byte>(128);
        for (int i = 0; i < upperHalf.Length; i++)
        {
            _upperHalfBytes.Add(upperHalf[i], (byte)(0x80 + i));
        }
    }

    /// <summary>The Python codec name, e.g. <c>sloppy-windows-1252</c>.</summary>
    public string Name { get; }

    /// <summary>Whether this is one of ftfy's sloppy codecs.</summary>
    public bool IsSloppy { get; }

    /// <summary>The Latin-1 codec, which ftfy treats specially after the UTF-8 attempts.</summary>
    public static SingleByteEncoding Latin1 => MojibakeCandidates[0];

    /// <summary>ftfy's sloppy Windows-1252, also used to read C1 control characters.</summary>
    public static SingleByteEncoding Windows1252 => MojibakeCandidates[1];

    /// <summary>Whether every character of <paramref name="text"/> has a byte (ftfy's <c>possible_encoding</c>).</summary>
    public bool CanEncode(string text)
    {
        foreach (char c in text)
        {
            if ((c < 0x80 && c != SubstituteByte) || c == _substitute || _upperHalfBytes.ContainsKey(c))
            {
                continue;
            }

            return false;
        }

        return true;
    }

    /// <summary>Encodes text for which <see cref="CanEncode"/> is true.</summary>
    public byte[] Encode(string text)
    {
        var bytes = new byte[text.Length];
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            bytes[i] = c == _substitute ? SubstituteByte
                : c < 0x80 ? (byte)c
                : _upperHalfBytes[c];
        }

        return bytes;
    }

    /// <summary>The character byte <paramref name="value"/> decodes to.</summary>
    public char Decode(byte value) =>
        value >= 0x80 ? _upperHalf[value - 0x80]
        : value == SubstituteByte ? _substitute
        : (char)value;
}
