namespace LoraGrains.Torch;

/// <summary>A libtorch operation failed; <see cref="Exception.Message"/> carries libtorch's own text.</summary>
public class TorchException : Exception
{
    /// <summary>Creates the exception with libtorch's message.</summary>
    public TorchException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public TorchException(string message, Exception inner) : base(message, inner) { }

    /// <summary>Creates the exception with no message.</summary>
    public TorchException() { }
}

/// <summary>libtorch could not allocate memory on the device (the process keeps running; free tensors and retry).</summary>
public sealed class TorchOutOfMemoryException : TorchException
{
    /// <summary>Creates the exception with libtorch's message.</summary>
    public TorchOutOfMemoryException(string message) : base(message) { }
}
