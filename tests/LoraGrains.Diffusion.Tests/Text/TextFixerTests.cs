using LoraGrains.Diffusion.Text;

namespace LoraGrains.Diffusion.Tests.Text;

/// <summary>ftfy 6.1.1 fix_text behaviour, mostly the examples of ftfy's own documentation.</summary>
public sealed class TextFixerTests
{
    [Theory]
    [InlineData("HTML entities &lt;3", "HTML entities <3")]
    [InlineData("<em>HTML entities &lt;3</em>", "<em>HTML entities &lt;3</em>")]
    [InlineData("Broken text&hellip; it&#x2019;s \uFB02ubberi\uFB01c!", "Broken text\u2026 it's flubberific!")]
    [InlineData("\u0001\u001B[36;44mI&#x92;m blue, da ba dee da ba doo&#133;\u001B[0m", "I'm blue, da ba dee da ba doo\u2026")]
    [InlineData("\uFEFFParty like\nit&rsquo;s 1999!", "Party like\nit's 1999!")]
    [InlineData("&amp;amp;", "&")]
    [InlineData("P&EACUTE;REZ", "P\u00C9REZ")]
    [InlineData("&ntilde; &Ntilde; &NTILDE; &nTILDE;", "\u00F1 \u00D1 \u00D1 &nTILDE;")]
    [InlineData("this&not that", "this&not that")]
    [InlineData("&#59; &#0; &#1;x &#x1F431; &#99999999999;", "&#59; \uFFFD x \U0001F431 \uFFFD")]
    public void Unescapes_html_entities_like_ftfy(string input, string expected)
    {
        Assert.Equal(expected, TextFixer.FixText(input));
    }

    [Fact]
    public void Stops_unescaping_html_from_the_first_line_with_a_tag()
    {
        Assert.Equal("a & b\n<tag>\n&amp;", TextFixer.FixText("a &amp; b\n<tag>\n&amp;"));
    }

    [Theory]
    [InlineData("u\u00CC\u02C6nicode", "\u00FCnicode")]
    [InlineData("mojibake \u00C3\u00A9t\u00C3\u00A9 and \uFB01", "mojibake \u00E9t\u00E9 and fi")]
    [InlineData("\u00E2\u0153\u201D No problems", "\u2714 No problems")]
    [InlineData("This \u00E2\u20AC\u201D should be an em dash", "This \u2014 should be an em dash")]
    [InlineData("\u00C3\u00A0 perturber la r\u00C3\u00A9flexion", "\u00E0 perturber la r\u00E9flexion")]
    [InlineData("voil\u00C3  le travail", "voil\u00E0 le travail")]
    [InlineData("This text was never UTF-8 at all\u0085", "This text was never UTF-8 at all\u2026")]
    public void Repairs_mojibake(string input, string expected)
    {
        Assert.Equal(expected, TextFixer.FixText(input));
    }

    [Theory]
    [InlineData("caf\u00E9 na\u00EFve r\u00E9sum\u00E9 cr\u00E8me br\u00FBl\u00E9e, Stra\u00DFe, \u00C5ngstr\u00F6m")]
    [InlineData("AH\u00C5\u2122, the new sofa from IKEA\u00AE")]
    [InlineData("\u6771\u4EAC\u306E\u591C\u666F, \u30CD\u30AA\u30F3, night")]
    [InlineData("emoji \U0001F431\U0001F680 and symbols \u00A9\u00AE\u2122 \u2014 \u2026")]
    public void Leaves_correct_text_alone(string text)
    {
        Assert.Equal(text, TextFixer.FixText(text));
    }

    [Theory]
    [InlineData("\u201Csmart\u201D \u2018single\u2019 \u02BCtwas", "\"smart\" 'single' 'twas")]
    [InlineData("\uFB02u\uFB03e\uFB06", "fluffiest")]
    [InlineData("\uFF2C\uFF2F\uFF35\uFF24\u3000\uFF2E\uFF2F\uFF29\uFF33\uFF25\uFF33", "LOUD NOISES")]
    [InlineData("\uFF35\uFF80\uFF70\uFF9D", "U\u30BF\u30FC\u30F3")]
    [InlineData("a\r\nb\rc\u2028d\u2029e", "a\nb\nc\nd\ne")]
    [InlineData("a\u0000b\u0008c\u007Fd\u200Be\t\u000Cf", "abcd\u200Be\t\u000Cf")]
    [InlineData("e\u0301", "\u00E9")]
    public void Applies_the_other_fixes(string input, string expected)
    {
        Assert.Equal(expected, TextFixer.FixText(input));
    }

    [Fact]
    public void Replaces_lone_surrogates()
    {
        // Built in code: xunit mangles lone surrogates in InlineData.
        string text = "x" + '\uD800' + "y" + '\uDC00';

        Assert.Equal("x\uFFFDy\uFFFD", TextFixer.FixText(text));
    }
}
