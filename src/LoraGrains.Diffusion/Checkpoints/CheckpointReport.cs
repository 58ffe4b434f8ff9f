using System.Text;

namespace LoraGrains.Diffusion.Checkpoints;

/// <summary>
/// What opening a checkpoint found: file keys that mapped to nothing, tensors the architecture needs that
/// the file lacks, keys skipped on purpose (EMA copies, training buffers), and notes on where the
/// architecture came from. A complete, consistent checkpoint has no unmatched and no missing keys.
/// </summary>
public sealed class CheckpointReport
{
    internal CheckpointReport(IReadOnlyList<string> unmatched, IReadOnlyList<MissingTensor> missing, IReadOnlyList<string> skipped, IReadOnlyList<string> notes)
    {
        Unmatched = unmatched;
        Missing = missing;
        Skipped = skipped;
        Notes = notes;
    }

    /// <summary>Keys of the file that mapped to no tensor of any component (sorted).</summary>
    public IReadOnlyList<string> Unmatched { get; }

    /// <summary>Tensors the architecture needs that the file does not hold.</summary>
    public IReadOnlyList<MissingTensor> Missing { get; }

    /// <summary>
    /// Keys skipped silently because they are known not to be model weights: EMA copies (<c>model_ema.*</c>),
    /// diffusion schedule buffers (<c>betas</c>, <c>alphas_cumprod</c>, …), <c>position_ids</c>, VAE training-loss weights.
    /// </summary>
    public IReadOnlyList<string> Skipped { get; }

    /// <summary>Number of skipped keys.</summary>
    public int SkippedCount => Skipped.Count;

    /// <summary>Human-readable notes: where each architecture came from, assumptions made, names converted.</summary>
    public IReadOnlyList<string> Notes { get; }

    /// <summary>True when every key was used and nothing the architecture needs is missing.</summary>
    public bool IsComplete => Unmatched.Count == 0 && Missing.Count == 0;

    /// <summary>A multi-line summary for logs.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append("unmatched ").Append(Unmatched.Count).Append(", missing ").Append(Missing.Count)
            .Append(", skipped ").Append(SkippedCount).AppendLine();
        foreach (var n in Notes) sb.Append("  note: ").AppendLine(n);
        foreach (var u in Unmatched.Take(20)) sb.Append("  unmatched: ").AppendLine(u);
        if (Unmatched.Count > 20) sb.Append("  ... ").Append(Unmatched.Count - 20).AppendLine(" more unmatched");
        foreach (var m in Missing.Take(20)) sb.Append("  missing: ").Append(m.Component).Append(' ').Append(m.Name).Append(" (").Append(m.SourceName).AppendLine(")");
        if (Missing.Count > 20) sb.Append("  ... ").Append(Missing.Count - 20).AppendLine(" more missing");
        return sb.ToString();
    }
}
