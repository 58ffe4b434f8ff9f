namespace LoraGrains.Diffusion.Models;

/// <summary>A model could not be loaded: a missing file or tensor, a wrong shape, an unknown config value.</summary>
public sealed class ModelLoadException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ModelLoadException(string message, Exception? inner = null) : base(message, inner) { }
}
