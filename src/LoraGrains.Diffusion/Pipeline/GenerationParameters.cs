using System.Globalization;
using System.Text;

namespace LoraGrains.Diffusion.Pipeline;

/// <summary>The A1111-style "parameters" text that image viewers and other tools read back from a PNG.</summary>
public static class GenerationParameters
{
    /// <summary>
    /// Formats <c>prompt\nNegative prompt: …\nSteps: N, Sampler: …, CFG scale: …, Seed: …, Size: WxH, Model hash: …</c>
    /// followed by any <paramref name="extra"/> fields in order.
    /// </summary>
    public static string Format(GenerationRequest request, string samplerName, string? modelHash, string? modelName,
        IEnumerable<KeyValuePair<string, string>>? extra = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder(request.Prompt);
        if (request.NegativePrompt.Length > 0) sb.Append("\nNegative prompt: ").Append(request.NegativePrompt);
        sb.Append('\n');
        sb.Append(inv, $"Steps: {request.Steps}, Sampler: {samplerName}, CFG scale: {request.GuidanceScale.ToString("0.###", inv)}, ");
        sb.Append(inv, $"Seed: {request.Seed}, Size: {request.Width}x{request.Height}");
        if (!string.IsNullOrEmpty(modelHash)) sb.Append(", Model hash: ").Append(modelHash);
        if (!string.IsNullOrEmpty(modelName)) sb.Append(", Model: ").Append(modelName);
        if (request.ClipSkip > 0) sb.Append(inv, $", Clip skip: {request.ClipSkip + 1}");
        foreach (var (k, v) in extra ?? [])
        {
            sb.Append(", ").Append(k).Append(": ").Append(Quote(v));
        }

        return sb.ToString();
    }

    // A1111 quotes values that contain the field separators.
    private static string Quote(string v) =>
        v.Contains(',') || v.Contains(':') || v.Contains('"') ? "\"" + v.Replace("\"", "\\\"", StringComparison.Ordinal) + "\"" : v;
}
