namespace LoraGrains.Torch.Safetensors;

/// <summary>A safetensors file is malformed, truncated or unsupported; the message names the file and the problem.</summary>
public sealed class SafetensorsException : Exception
{
    /// <summary>Creates the exception for <paramref name="path"/>.</summary>
    public SafetensorsException(string path, string problem, Exception? inner = null)
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
