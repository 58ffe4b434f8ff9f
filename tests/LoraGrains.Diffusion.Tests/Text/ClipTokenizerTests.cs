using System.Text;
using LoraGrains.Diffusion.Text;

namespace LoraGrains.Diffusion.Tests.Text;

public sealed class ClipTokenizerTests
{
    private const int Bos = 49406, Eos = 49407, A = 320, B = 321, Cat = 2368, Dog = 1929;

    private static readonly Lazy<ClipTokenizer> s_tokenizer = new(() => ClipTokenizer.FromDirectory(TokenizerDirectory));

    private static string TokenizerDirectory => Path.Combine(Fixtures.SdTiny, "tokenizer");

    private static ClipTokenizer Tokenizer => s_tokenizer.Value;

    [Theory]
    [InlineData("")]
    [InlineData(" \t\n ")]
    public void Empty_prompt_is_bos_then_eos_padding(string prompt)
    {
        TokenizedPrompt encoded = Tokenizer.Encode(prompt);

        Assert.Equal([Bos, .. Enumerable.Repeat(Eos, 76)], encoded.Ids);
        Assert.Equal(0, encoded.ContentTokenCount);
        Assert.False(encoded.Truncated);
        Assert.Equal([Bos, Eos], Tokenizer.EncodeUntruncated(prompt));
    }

    [Fact]
    public void Long_prompt_keeps_75_tokens_and_ends_with_eos()
    {
        string prompt = string.Join(' ', Enumerable.Repeat("a", 80));

        TokenizedPrompt encoded = Tokenizer.Encode(prompt);

        Assert.True(encoded.Truncated);
        Assert.Equal(80, encoded.ContentTokenCount);
        Assert.Equal([Bos, .. Enumerable.Repeat(A, 75), Eos], encoded.Ids);
        Assert.Equal(82, Tokenizer.EncodeUntruncated(prompt).Count);
    }

    [Fact]
    public void Encode_honours_a_custom_length()
    {
        TokenizedPrompt encoded = Tokenizer.Encode("a cat a dog", 4);

        Assert.Equal([Bos, A, Cat, Eos], encoded.Ids);
        Assert.True(encoded.Truncated);
        Assert.Equal([Bos, A, Cat, A, Dog, Eos, Eos, Eos], Tokenizer.Encode("a cat a dog", 8).Ids);
        Assert.Throws<ArgumentOutOfRangeException>(() => Tokenizer.Encode("a", 1));
    }

    [Theory]
    [InlineData("a<|endoftext|>b", new[] { A, Eos, B })]
    [InlineData("<|startoftext|>a <|endoftext|><|endoftext|>", new[] { Bos, A, Eos, Eos })]
    [InlineData("A <|ENDOFTEXT|> B", new[] { A, Eos, B })] // lower-cased, then the special entry of transformers' BPE cache
    [InlineData("a <|endoftext b", new[] { A, 27, 347, 40786, 4160, B })] // not a special token: "<", "|</w>", "endof", "text</w>"
    public void Literal_special_tokens_become_special_ids(string prompt, int[] content)
    {
        Assert.Equal([Bos, .. content, Eos], Tokenizer.EncodeUntruncated(prompt));
    }

    [Fact]
    public void Cache_gives_the_same_ids_across_threads_and_instances()
    {
        string[] prompts = Enumerable.Range(0, 200)
            .Select(i => $"prompt {i}: a cat, a dog, masterpiece, {new string((char)('a' + (i % 26)), 1 + (i % 7))} caf\u00E9 \U0001F431")
            .ToArray();
        int[][] expected = prompts.Select(prompt => Tokenizer.EncodeUntruncated(prompt).ToArray()).ToArray();
        ClipTokenizer fresh = ClipTokenizer.FromDirectory(TokenizerDirectory);

        int[][] concurrent = new int[prompts.Length][];
        Parallel.For(0, prompts.Length * 4, i =>
        {
            int index = i % prompts.Length;
            concurrent[index] = fresh.EncodeUntruncated(prompts[index]).ToArray();
        });

        Assert.Equal(expected, concurrent);
        Assert.Equal(expected, prompts.Select(prompt => Tokenizer.EncodeUntruncated(prompt).ToArray()));
    }

    [Fact]
    public void Missing_folder_is_reported()
    {
        string missing = Path.Combine(Path.GetTempPath(), "no-such-tokenizer-" + Guid.NewGuid());

        Assert.Throws<DirectoryNotFoundException>(() => ClipTokenizer.FromDirectory(missing));
    }

    [Theory]
    [InlineData("vocab.json")]
    [InlineData("merges.txt")]
    public void Missing_file_is_named(string fileName)
    {
        using var folder = TokenizerCopy.Create();
        File.Delete(Path.Combine(folder.Path, fileName));

        var error = Assert.Throws<FileNotFoundException>(() => ClipTokenizer.FromDirectory(folder.Path));
        Assert.Contains(fileName, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Malformed_merges_line_is_named()
    {
        using var folder = TokenizerCopy.Create();
        string merges = Path.Combine(folder.Path, "merges.txt");
        List<string> lines = File.ReadAllLines(merges).ToList();
        lines.Insert(2, "i n g");
        File.WriteAllLines(merges, lines);

        var error = Assert.Throws<FormatException>(() => ClipTokenizer.FromDirectory(folder.Path));
        Assert.Contains("merges.txt line 3", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Merge_of_unknown_symbol_is_named()
    {
        using var folder = TokenizerCopy.Create();
        string merges = Path.Combine(folder.Path, "merges.txt");
        List<string> lines = File.ReadAllLines(merges).ToList();
        lines.Insert(1, "\u4E00 x");
        File.WriteAllLines(merges, lines);

        var error = Assert.Throws<FormatException>(() => ClipTokenizer.FromDirectory(folder.Path));
        Assert.Contains("line 2", error.Message, StringComparison.Ordinal);
        Assert.Contains("not in the vocabulary", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new byte[] { 0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x20, 0x31, 0x7D })] // {"\xFF\xFE": 1}: not UTF-8
    [InlineData(new byte[] { 0x5B, 0x31, 0x5D })] // [1]: not an object
    [InlineData(new byte[] { 0x7B, 0x22, 0x61, 0x22, 0x3A, 0x20, 0x22, 0x62, 0x22, 0x7D })] // {"a": "b"}: id not an integer
    public void Malformed_vocabulary_is_reported(byte[] vocabulary)
    {
        using var folder = TokenizerCopy.Create();
        string path = Path.Combine(folder.Path, "vocab.json");
        File.WriteAllBytes(path, vocabulary);

        var error = Assert.Throws<FormatException>(() => ClipTokenizer.FromDirectory(folder.Path));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Vocabulary_without_special_tokens_is_reported()
    {
        using var folder = TokenizerCopy.Create();
        string path = Path.Combine(folder.Path, "vocab.json");
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"<|endoftext|>\"", "\"<|end|>\"", StringComparison.Ordinal));

        var error = Assert.Throws<FormatException>(() => ClipTokenizer.FromDirectory(folder.Path));
        Assert.Contains(ClipTokenizer.EndOfTextToken, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"pad_token\": \"!\"}")]
    [InlineData("{\"pad_token\": {\"content\": \"!\", \"lstrip\": false}}")]
    public void Pad_token_comes_from_the_config(string config)
    {
        using var folder = TokenizerCopy.Create();
        File.WriteAllText(Path.Combine(folder.Path, "tokenizer_config.json"), config);

        ClipTokenizer tokenizer = ClipTokenizer.FromDirectory(folder.Path);

        Assert.Equal(0, tokenizer.PadId);
        Assert.Equal([Bos, A, Eos, 0, 0], tokenizer.Encode("a", 5).Ids);
    }

    // A writable copy of the fixture tokenizer folder.
    private sealed class TokenizerCopy : IDisposable
    {
        private TokenizerCopy(string path) => Path = path;

        public string Path { get; }

        public static TokenizerCopy Create()
        {
            string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "clip-tokenizer-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(path);
            foreach (string file in Directory.GetFiles(TokenizerDirectory))
            {
                File.Copy(file, System.IO.Path.Combine(path, System.IO.Path.GetFileName(file)));
            }

            return new TokenizerCopy(path);
        }

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
