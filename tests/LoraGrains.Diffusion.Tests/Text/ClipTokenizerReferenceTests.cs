using System.Text.Json;
using LoraGrains.Diffusion.Text;

namespace LoraGrains.Diffusion.Tests.Text;

/// <summary>Every case of refs/tokenizer.json against transformers' CLIPTokenizer with ftfy (hf_slow_ftfy).</summary>
public sealed class ClipTokenizerReferenceTests
{
    private const string PrimaryVariant = "hf_slow_ftfy";

    private static readonly Lazy<JsonDocument> s_reference = new(() =>
        JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Fixtures.SdTiny, "refs", "tokenizer.json"))));

    private static readonly Lazy<ClipTokenizer> s_tokenizer = new(() =>
        ClipTokenizer.FromDirectory(Path.Combine(Fixtures.SdTiny, "tokenizer")));

    private static JsonElement Cases => s_reference.Value.RootElement.GetProperty("cases");

    public static TheoryData<int> CaseIndices()
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < Cases.GetArrayLength(); i++)
        {
            data.Add(i);
        }

        return data;
    }

    [Fact]
    public void Reference_has_all_cases()
    {
        Assert.Equal(21, Cases.GetArrayLength());
    }

    [Fact]
    public void Special_ids_match_reference()
    {
        JsonElement root = s_reference.Value.RootElement;
        ClipTokenizer tokenizer = s_tokenizer.Value;

        Assert.Equal(root.GetProperty("bos_token_id").GetInt32(), tokenizer.BosId);
        Assert.Equal(root.GetProperty("eos_token_id").GetInt32(), tokenizer.EosId);
        Assert.Equal(root.GetProperty("pad_token_id").GetInt32(), tokenizer.PadId);
        Assert.Equal(root.GetProperty("vocab_size").GetInt32(), tokenizer.VocabularySize);
        Assert.Equal(77, tokenizer.MaxLength);
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void Encode_matches_padded_input_ids(int caseIndex)
    {
        (string prompt, JsonElement expected) = Case(caseIndex);

        TokenizedPrompt encoded = s_tokenizer.Value.Encode(prompt);

        Assert.Equal(Ints(expected.GetProperty("input_ids")), encoded.Ids);
        Assert.Equal(expected.GetProperty("num_content_tokens").GetInt32(), encoded.ContentTokenCount);
        Assert.Equal(expected.GetProperty("truncated").GetBoolean(), encoded.Truncated);
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void EncodeUntruncated_matches_untruncated_ids(int caseIndex)
    {
        (string prompt, JsonElement expected) = Case(caseIndex);

        Assert.Equal(Ints(expected.GetProperty("untruncated_ids")), s_tokenizer.Value.EncodeUntruncated(prompt));
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void Tokenize_matches_tokens(int caseIndex)
    {
        (string prompt, JsonElement expected) = Case(caseIndex);
        string[] tokens = expected.GetProperty("tokens").EnumerateArray().Select(token => token.GetString()!).ToArray();

        Assert.Equal(ClipTokenizer.StartOfTextToken, tokens[0]);
        Assert.Equal(ClipTokenizer.EndOfTextToken, tokens[^1]);
        Assert.Equal(tokens[1..^1], s_tokenizer.Value.Tokenize(prompt));
        Assert.Equal(tokens, s_tokenizer.Value.EncodeUntruncated(prompt).Select(s_tokenizer.Value.GetToken));
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void Prompt_text_matches_its_code_points(int caseIndex)
    {
        JsonElement testCase = Cases[caseIndex];
        int[] codePoints = Ints(testCase.GetProperty("prompt_codepoints"));

        Assert.Equal(codePoints, testCase.GetProperty("prompt").GetString()!.EnumerateRunes().Select(rune => rune.Value));
    }

    private static (string Prompt, JsonElement Expected) Case(int index)
    {
        JsonElement testCase = Cases[index];
        return (testCase.GetProperty("prompt").GetString()!, testCase.GetProperty(PrimaryVariant));
    }

    private static int[] Ints(JsonElement array) => array.EnumerateArray().Select(value => value.GetInt32()).ToArray();
}
