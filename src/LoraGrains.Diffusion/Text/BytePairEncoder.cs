using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;

namespace LoraGrains.Diffusion.Text;

/// <summary>
/// CLIP's byte-level BPE model from a Hugging Face <c>vocab.json</c> and <c>merges.txt</c>: a word
/// becomes its UTF-8 bytes, the last one marked with <c>&lt;/w&gt;</c>, and the adjacent pair with
/// the lowest merge rank is merged until none is left. Results are cached per word.
/// </summary>
internal sealed class BytePairEncoder
{
    /// <summary>The suffix CLIP puts on the last symbol of a word.</summary>
    public const string EndOfWordSuffix = "</w>";

    // transformers' CLIPTokenizer reads at most this many merges (49152 - 256 - 2).
    private const int MaxMerges = 48_894;

    // Prompts reuse few distinct words; clearing when full keeps memory bounded without LRU bookkeeping.
    private const int CacheCapacity = 100_000;

    private readonly Dictionary<string, int> _vocabulary;
    private readonly Dictionary<int, string> _tokensById;
    private readonly Dictionary<long, (int Rank, int Merged)> _merges;
    private readonly int[] _byteSymbols;
    private readonly int[] _finalByteSymbols;
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _cacheBySpan;

    private BytePairEncoder(Dictionary<string, int> vocabulary, Dictionary<long, (int, int)> merges)
    {
        _vocabulary = vocabulary;
        _merges = merges;
        _tokensById = vocabulary.ToDictionary(entry => entry.Value, entry => entry.Key);

        _byteSymbols = new int[256];
        _finalByteSymbols = new int[256];
        for (int b = 0; b < 256; b++)
        {
            string symbol = ByteLevelAlphabet.CharForByte((byte)b).ToString();
            _byteSymbols[b] = vocabulary[symbol];
            _finalByteSymbols[b] = vocabulary[symbol + EndOfWordSuffix];
        }

        _cacheBySpan = _cache.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>Number of tokens in the vocabulary.</summary>
    public int VocabularySize => _vocabulary.Count;

    /// <summary>Loads and validates a vocabulary and its merges.</summary>
    /// <exception cref="FormatException">A file is not valid UTF-8 JSON / text, or is inconsistent.</exception>
    public static BytePairEncoder FromFiles(string vocabularyPath, string mergesPath)
    {
        Dictionary<string, int> vocabulary = ReadVocabulary(vocabularyPath);
        for (int b = 0; b < 256; b++)
        {
            string symbol = ByteLevelAlphabet.CharForByte((byte)b).ToString();
            foreach (string required in new[] { symbol, symbol + EndOfWordSuffix })
            {
                if (!vocabulary.ContainsKey(required))
                {
                    throw new FormatException($"{vocabularyPath} lacks the byte symbol '{required}' that every CLIP vocabulary has.");
                }
            }
        }

        return new BytePairEncoder(vocabulary, ReadMerges(mergesPath, vocabulary));
    }

    /// <summary>The id of <paramref name="token"/>, if the vocabulary has it.</summary>
    public bool TryGetId(string token, out int id) => _vocabulary.TryGetValue(token, out id);

    /// <summary>The token with id <paramref name="id"/>, or null for an id not in the vocabulary.</summary>
    public string? GetToken(int id) => _tokensById.GetValueOrDefault(id);

    /// <summary>The token ids of one pre-tokenized word (not byte-encoded yet).</summary>
    public int[] Encode(ReadOnlySpan<char> word)
    {
        if (_cacheBySpan.TryGetValue(word, out int[]? cached))
        {
            return cached;
        }

        int[] ids = Merge(word);
        if (_cache.Count >= CacheCapacity)
        {
            _cache.Clear();
        }

        _cacheBySpan.TryAdd(word, ids);
        return ids;
    }

    private int[] Merge(ReadOnlySpan<char> word)
    {
        byte[] utf8 = new byte[Encoding.UTF8.GetByteCount(word)];
        Encoding.UTF8.GetBytes(word, utf8);
        var symbols = new List<int>(utf8.Length);
        for (int i = 0; i < utf8.Length; i++)
        {
            symbols.Add(i == utf8.Length - 1 ? _finalByteSymbols[utf8[i]] : _byteSymbols[utf8[i]]);
        }

        while (symbols.Count > 1)
        {
            int bestRank = int.MaxValue, left = -1, right = -1, merged = -1;
            for (int i = 0; i + 1 < symbols.Count; i++)
            {
                if (_merges.TryGetValue(PairKey(symbols[i], symbols[i + 1]), out var merge) && merge.Rank < bestRank)
                {
                    (bestRank, left, right, merged) = (merge.Rank, symbols[i], symbols[i + 1], merge.Merged);
                }
            }

            if (merged < 0)
            {
                break;
            }

            // Merge every occurrence of the pair, left to right, without overlaps.
            int count = 0;
            for (int i = 0; i < symbols.Count; i++)
            {
                bool pair = symbols[i] == left && i + 1 < symbols.Count && symbols[i + 1] == right;
                symbols[count++] = pair ? merged : symbols[i];
                i += pair ? 1 : 0;
            }

            symbols.RemoveRange(count, symbols.Count - count);
        }

        return [.. symbols];
    }

    private static long PairKey(int left, int right) => ((long)left << 32) | (uint)right;

    private static Dictionary<string, int> ReadVocabulary(string path)
    {
        Dictionary<string, int>? vocabulary;
        try
        {
            using FileStream stream = File.OpenRead(path);
            vocabulary = JsonSerializer.Deserialize<Dictionary<string, int>>(stream);
        }
        catch (JsonException e)
        {
            throw new FormatException($"{path} is not a UTF-8 JSON object mapping tokens to integer ids: {e.Message}", e);
        }

        if (vocabulary is null || vocabulary.Count == 0)
        {
            throw new FormatException($"{path} is empty; expected a JSON object mapping tokens to integer ids.");
        }

        var tokensById = new Dictionary<int, string>(vocabulary.Count);
        foreach ((string token, int id) in vocabulary)
        {
            if (id < 0)
            {
                throw new FormatException($"{path} gives token '{token}' the negative id {id}.");
            }

            if (!tokensById.TryAdd(id, token))
            {
                throw new FormatException($"{path} gives id {id} to both '{tokensById[id]}' and '{token}'.");
            }
        }

        return vocabulary;
    }

    // Ranks follow line order; the first line is a "#version" header as written by transformers.
    private static Dictionary<long, (int, int)> ReadMerges(string path, Dictionary<string, int> vocabulary)
    {
        var merges = new Dictionary<long, (int, int)>();
        var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path, utf8);
        }
        catch (DecoderFallbackException e)
        {
            throw new FormatException($"{path} is not valid UTF-8: {e.Message}", e);
        }

        int rank = 0;
        for (int lineIndex = 0; lineIndex < lines.Length && rank < MaxMerges; lineIndex++)
        {
            string line = lines[lineIndex];
            if ((lineIndex == 0 && line.StartsWith("#version", StringComparison.Ordinal)) || string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 2)
            {
                throw new FormatException($"{path} line {lineIndex + 1}: expected two space-separated symbols, got \"{line}\".");
            }

            int left = SymbolId(parts[0]), right = SymbolId(parts[1]), merged = SymbolId(parts[0] + parts[1]);

            // Like transformers' dict of ranks, a repeated pair keeps its last rank.
            merges[PairKey(left, right)] = (rank++, merged);

            int SymbolId(string symbol) => vocabulary.TryGetValue(symbol, out int id) ? id
                : throw new FormatException($"{path} line {lineIndex + 1}: symbol '{symbol}' of merge \"{line}\" is not in the vocabulary.");
        }

        return merges;
    }
}
