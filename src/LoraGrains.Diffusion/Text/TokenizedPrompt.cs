namespace LoraGrains.Diffusion.Text;

/// <summary>
/// A prompt as the text encoder takes it: <c>[BOS] + tokens + [EOS]</c>, cut to the model length
/// and padded, as diffusers' <c>encode_prompt</c> gets it from the tokenizer.
/// </summary>
public sealed class TokenizedPrompt
{
    internal TokenizedPrompt(int[] ids, int contentTokenCount)
    {
        Ids = ids;
        ContentTokenCount = contentTokenCount;
    }

    /// <summary>The token ids, exactly the requested length.</summary>
    public IReadOnlyList<int> Ids { get; }

    /// <summary>Number of prompt tokens (without BOS and EOS) before truncation.</summary>
    public int ContentTokenCount { get; }

    /// <summary>Whether prompt tokens were dropped to fit the length.</summary>
    public bool Truncated => ContentTokenCount > Ids.Count - 2;
}
