using System.Buffers.Binary;
using LoraGrains.Diffusion.Models;

namespace LoraGrains.Diffusion.Checkpoints;

/// <summary>
/// Tells safetensors files from pickled PyTorch checkpoints (.ckpt/.pt/.pth/.bin) by their first bytes
/// (torch.save zip archive, raw pickle stream) and, failing a safetensors header, by name, so a pickle is
/// refused with an explanation before anything tries to parse it.
/// </summary>
public static class CheckpointFileFormat
{
    private static readonly string[] PickleExtensions = [".ckpt", ".pt", ".pth", ".bin", ".pkl", ".pickle"];

    /// <summary>File names of pickled weights that diffusers/transformers folders may hold instead of safetensors.</summary>
    internal static bool IsPickleName(string path) =>
        PickleExtensions.Contains(Path.GetExtension(path), StringComparer.OrdinalIgnoreCase);

    /// <summary>Throws unless <paramref name="path"/> exists and starts like a safetensors file (its header is validated when opened).</summary>
    /// <exception cref="ModelLoadException">The file is missing, pickled, or not safetensors.</exception>
    public static void EnsureSafetensors(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new ModelLoadException($"{path}: file not found");
        Span<byte> head = stackalloc byte[9];
        int read;
        try
        {
            using var stream = File.OpenRead(path);
            read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelLoadException($"{path}: cannot be read: {e.Message}", e);
        }

        head = head[..read];

        // A safetensors file starts with a little-endian u64 header length followed by a JSON object. Checked
        // first: content decides, so a safetensors file that was merely renamed .ckpt still opens safely.
        if (head.Length == 9 && head[8] == (byte)'{' && BinaryPrimitives.ReadUInt64LittleEndian(head) < (1UL << 40)) return;

        var pickleKind =
            head.Length >= 4 && head[0] == (byte)'P' && head[1] == (byte)'K' && head[2] == 3 && head[3] == 4 ? "a torch.save zip archive"
            : head.Length >= 2 && head[0] == 0x80 && head[1] is >= 2 and <= 5 ? "a raw pickle stream"
            : IsPickleName(path) ? $"a '{Path.GetExtension(path)}' file"
            : null;
        if (pickleKind is not null)
        {
            throw new ModelLoadException(
                $"{path}: this is a pickled PyTorch checkpoint ({pickleKind}). Loading it means unpickling, which can run arbitrary code, " +
                "so LoraGrains refuses; convert it to .safetensors with a trusted tool and open that file instead.");
        }

        throw new ModelLoadException($"{path}: not a safetensors file (no safetensors header); only .safetensors checkpoints are supported");
    }
}
