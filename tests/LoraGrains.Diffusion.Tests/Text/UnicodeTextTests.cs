using LoraGrains.Diffusion.Text;

namespace LoraGrains.Diffusion.Tests.Text;

/// <summary>The CPython string behaviour the tokenizer reproduces: NFC, lower(), whitespace_clean.</summary>
public sealed class UnicodeTextTests
{
    [Theory]
    [InlineData("e\u0301", "\u00E9")]
    [InlineData("\u212B", "\u00C5")] // singleton decomposition
    [InlineData("\u0958", "\u0915\u093C")] // composition exclusion
    [InlineData("a\u0301\u0328", "\u0105\u0301")] // canonical reordering, then the blocked acute stays
    [InlineData("\u1100\u1161\u11A8", "\uAC01")] // Hangul
    [InlineData("\U0001D15E", "\U0001D157\U0001D165")] // astral, excluded
    [InlineData("plain ascii", "plain ascii")]
    public void ToNfc_matches_cpython(string input, string expected)
    {
        Assert.Equal(expected, UnicodeNormalizer.ToNfc(input));
    }

    [Theory]
    [InlineData("\u0130STANBUL", "i\u0307stanbul")]
    [InlineData("\u039F\u0394\u039F\u03A3 \u03A3\u0391\u03A3 \u03A3 \u0391\u03A3'\u03A3", "\u03BF\u03B4\u03BF\u03C2 \u03C3\u03B1\u03C2 \u03C3 \u03B1\u03C3'\u03C2")]
    [InlineData("ABC xyz \U00010400", "abc xyz \U00010428")]
    public void Lowercase_matches_cpython(string input, string expected)
    {
        Assert.Equal(expected, PythonLowercase.ToLower(input));
    }

    [Fact]
    public void Normalize_collapses_python_whitespace_and_lowercases()
    {
        Assert.Equal("a b c", ClipTextNormalizer.Normalize("  A\u00A0\u3000B\t\n\u2009C \u001F "));
    }

    [Theory]
    [InlineData("it's a dog's", new[] { "it", "'s", "a", "dog", "'s" })]
    [InlineData("rock'n'roll,'quoted'", new[] { "rock", "'", "n", "'", "roll", ",'", "quoted", "'" })]
    [InlineData("1024x768 8k", new[] { "1", "0", "2", "4", "x", "7", "6", "8", "8", "k" })]
    [InlineData("a\U0001D400b \U0001F431\U0001F680!", new[] { "a\U0001D400b", "\U0001F431\U0001F680!" })]
    [InlineData("x<|endoftext|>y<|\u017Ftartoftext|>", new[] { "x", "<|endoftext|>", "y", "<|\u017Ftartoftext|>" })]
    [InlineData("i\u0307stanbul \u03B1\u0345", new[] { "i", "\u0307", "stanbul", "\u03B1" })]
    public void PreTokenizer_splits_like_the_clip_pattern(string text, string[] expected)
    {
        Assert.Equal(expected, ClipPreTokenizer.Split(text).Select(range => text[range]));
    }
}
