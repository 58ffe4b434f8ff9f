using System.Text.Json;

namespace LoraGrains.Diffusion.Text;

/// <summary>
/// The CLIP BPE tokenizer of Stable Diffusion, giving the same ids as transformers'
/// <c>CLIPTokenizer</c> with ftfy installed: literal special tokens are split off first, each
/// remaining piece becomes <c>whitespace_clean(ftfy.fix_text(piece)).lower()</c>, is split into
/// words by CLIP's pattern and byte-level BPE-encoded.
/// </summary>
/// <remarks>Instances are immutable apart from an internal word cache and are thread-safe.</remarks>
public sealed class ClipTokenizer
{
    /// <summary>The beginning-of-text token.</summary>
    public const string StartOfTextToken = "<|startoftext|>";

    /// <summary>The end-of-text token, also the padding token of SD 1.x.</summary>
    public const string EndOfTextToken = "<|endoftext|>";

    private const string VocabularyFileName = "vocab.json";
    private const string MergesFileName = "merges.txt";
    private const string ConfigFileName = "tokenizer_config.json";

    private readonly BytePairEncoder _encoder;

    private ClipTokenizer(BytePairEncoder encoder, int bosId, int eosId, int padId)
    {
        _encoder = encoder;
        BosId = bosId;
        EosId = eosId;
        PadId = padId;
    }

    /// <summary>Id of <see cref="StartOfTextToken"/>.</summary>
    public int BosId { get; }

    /// <summary>Id of <see cref="EndOfTextToken"/>.</summary>
    public int EosId { get; }

    /// <summary>Id used to pad prompts: the <c>pad_token</c> of <c>tokenizer_config.json</c>, else <see cref="EosId"/>.</summary>
    public int PadId { get; }

    /// <summary>The text encoder's sequence length, 77 for every CLIP used by Stable Diffusion.</summary>
    public int MaxLength => 77;

    /// <summary>Number of tokens in the vocabulary.</summary>
    public int VocabularySize => _encoder.VocabularySize;

    /// <summary>
    /// Loads a Hugging Face tokenizer folder: <c>vocab.json</c>, <c>merges.txt</c> and, when
    /// present, the <c>pad_token</c> of <c>tokenizer_config.json</c>.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">vocab.json or merges.txt is missing.</exception>
    /// <exception cref="FormatException">A file is malformed or not UTF-8.</exception>
    public static ClipTokenizer FromDirectory(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"Tokenizer folder not found: {directory}");
        }

        string vocabularyPath = RequireFile(directory, VocabularyFileName);
        string mergesPath = RequireFile(directory, MergesFileName);
        BytePairEncoder encoder = BytePairEncoder.FromFiles(vocabularyPath, mergesPath);

        int bosId = RequireToken(encoder, StartOfTextToken, vocabularyPath);
        int eosId = RequireToken(encoder, EndOfTextToken, vocabularyPath);
        string configPath = Path.Combine(directory, ConfigFileName);
        string? padToken = File.Exists(configPath) ? ReadPadToken(configPath) : null;
        int padId = padToken is null ? eosId : RequireToken(encoder, padToken, vocabularyPath);
        return new ClipTokenizer(encoder, bosId, eosId, padId);
    }

    /// <summary>
    /// Tokenizes <paramref name="text"/> into <see cref="MaxLength"/> ids: BOS, at most 75 prompt
    /// tokens, EOS, then padding.
    /// </summary>
    public TokenizedPrompt Encode(string text) => Encode(text, MaxLength);

    /// <summary>
    /// Tokenizes <paramref name="text"/> into exactly <paramref name="maxLength"/> ids: BOS, at most
    /// <paramref name="maxLength"/> - 2 prompt tokens, EOS, then padding.
    /// </summary>
    public TokenizedPrompt Encode(string text, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 2);

        List<int> content = EncodeContent(text);
        int kept = Math.Min(content.Count, maxLength - 2);
        var ids = new int[maxLength];
        ids[0] = BosId;
        content.CopyTo(0, ids, 1, kept);
        ids[kept + 1] = EosId;
        Array.Fill(ids, PadId, kept + 2, maxLength - kept - 2);
        return new TokenizedPrompt(ids, content.Count);
    }

    /// <summary>BOS, every prompt token and EOS, without truncation or padding.</summary>
    public IReadOnlyList<int> EncodeUntruncated(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        List<int> content = EncodeContent(text);
        var ids = new int[content.Count + 2];
        ids[0] = BosId;
        content.CopyTo(ids, 1);
        ids[^1] = EosId;
        return ids;
    }

    /// <summary>The BPE tokens of <paramref name="text"/>, without BOS and EOS.</summary>
    public IReadOnlyList<string> Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return EncodeContent(text).Select(GetToken).ToArray();
    }

    /// <summary>The vocabulary entry for <paramref name="id"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The id is not in the vocabulary.</exception>
    public string GetToken(int id) =>
        _encoder.GetToken(id) ?? throw new ArgumentOutOfRangeException(nameof(id), id, "Not a token id of this vocabulary.");

    private List<int> EncodeContent(string text)
    {
        var ids = new List<int>();

        // transformers splits literal special tokens off the raw text; the pieces between them are
        // normalized one by one.
        int position = 0;
        while (position < text.Length)
        {
            int start = text.IndexOf(StartOfTextToken, position, StringComparison.Ordinal);
            int end = text.IndexOf(EndOfTextToken, position, StringComparison.Ordinal);
            int special = start < 0 ? end : end < 0 ? start : Math.Min(start, end);
            int pieceEnd = special < 0 ? text.Length : special;
            if (pieceEnd > position)
            {
                EncodePiece(text[position..pieceEnd], ids);
            }

            if (special < 0)
            {
                break;
            }

            bool isStart = special == start;
            ids.Add(isStart ? BosId : EosId);
            position = special + (isStart ? StartOfTextToken : EndOfTextToken).Length;
        }

        return ids;
    }

    private void EncodePiece(string piece, List<int> ids)
    {
        string normalized = ClipTextNormalizer.Normalize(piece);
        foreach (Range range in ClipPreTokenizer.Split(normalized))
        {
            ReadOnlySpan<char> word = normalized.AsSpan(range);

            // Special tokens that only appear after normalization (e.g. "<|ENDOFTEXT|>") hit the
            // entries transformers seeds its BPE cache with.
            if (word.SequenceEqual(StartOfTextToken))
            {
                ids.Add(BosId);
            }
            else if (word.SequenceEqual(EndOfTextToken))
            {
                ids.Add(EosId);
            }
            else
            {
                ids.AddRange(_encoder.Encode(word));
            }
        }
    }

    private static string RequireFile(string directory, string fileName)
    {
        string path = Path.Combine(directory, fileName);
        return File.Exists(path) ? path : throw new FileNotFoundException($"Tokenizer file {fileName} not found in {directory}.", path);
    }

    private static int RequireToken(BytePairEncoder encoder, string token, string vocabularyPath) =>
        encoder.TryGetId(token, out int id) ? id
            : throw new FormatException($"{vocabularyPath} has no entry for the special token '{token}'.");

    // pad_token is either a string or an AddedToken object with "content".
    private static string? ReadPadToken(string configPath)
    {
        try
        {
            using JsonDocument config = JsonDocument.Parse(File.ReadAllBytes(configPath));
            if (config.RootElement.ValueKind != JsonValueKind.Object
                || !config.RootElement.TryGetProperty("pad_token", out JsonElement pad))
            {
                return null;
            }

            return pad.ValueKind switch
            {
                JsonValueKind.String => pad.GetString(),
                JsonValueKind.Object when pad.TryGetProperty("content", out JsonElement content) => content.GetString(),
                JsonValueKind.Null => null,
                _ => throw new FormatException($"{configPath}: pad_token must be a string or an object with \"content\"."),
            };
        }
        catch (JsonException e)
        {
            throw new FormatException($"{configPath} is not valid UTF-8 JSON: {e.Message}", e);
        }
        catch (InvalidOperationException e)
        {
            throw new FormatException($"{configPath}: pad_token content must be a string.", e);
        }
    }
}
