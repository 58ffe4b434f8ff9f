namespace LoraGrains.Diffusion.Lora;

/// <summary>
/// A LoRA file cannot be used with this model: unreadable, of an unsupported kind, inconsistent, or made
/// for another base model. The message names the file and the problem.
/// </summary>
public sealed class LoraFormatException : Exception
{
    /// <summary>Creates the exception for <paramref name="path"/>.</summary>
    public LoraFormatException(string path, string problem, Exception? inner = null)
        : base($"{path}: {problem}", inner)
    {
        FilePath = path;
        Problem = problem;
    }

    /// <summary>The file that was rejected.</summary>
    public string FilePath { get; }

    /// <summary>What is wrong with it.</summary>
    public string Problem { get; }
}
