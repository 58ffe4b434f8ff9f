using System.Security.Cryptography;
using Microsoft.Extensions.Options;

namespace LoraGrains.Cluster.Runtime;

/// <summary>The silo's file layout under the shared data directory: adapters by content hash, images by job id.</summary>
public sealed class SiloFiles
{
    /// <summary>Creates the layout (and its folders).</summary>
    public SiloFiles(IOptions<SiloOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Root = Path.GetFullPath(options.Value.DataDirectory);
        Directory.CreateDirectory(AdaptersDirectory);
        Directory.CreateDirectory(ImagesDirectory);
        Directory.CreateDirectory(UploadsDirectory);
    }

    /// <summary>The data directory.</summary>
    public string Root { get; }

    /// <summary>Adapter files, named by content hash.</summary>
    public string AdaptersDirectory => Path.Combine(Root, "adapters");

    /// <summary>Result images, named by job id.</summary>
    public string ImagesDirectory => Path.Combine(Root, "images");

    /// <summary>Uploads in progress.</summary>
    public string UploadsDirectory => Path.Combine(Root, "uploads");

    /// <summary>Where the adapter with this content hash is stored.</summary>
    public string AdapterPath(string contentHash) => Path.Combine(AdaptersDirectory, contentHash + ".safetensors");

    /// <summary>Where the image of this job is stored.</summary>
    public string ImagePath(Guid jobId) => Path.Combine(ImagesDirectory, jobId.ToString("N") + ".png");

    /// <summary>Where image <paramref name="index"/> of a batch is stored, beside its first image <paramref name="firstImagePath"/>.</summary>
    public static string BatchImagePath(string firstImagePath, int index)
    {
        ArgumentNullException.ThrowIfNull(firstImagePath);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        return index == 0 ? firstImagePath : Path.ChangeExtension(firstImagePath, null) + $"-{index}.png";
    }

    /// <summary>A fresh temporary upload path.</summary>
    public string NewUploadPath() => Path.Combine(UploadsDirectory, Guid.NewGuid().ToString("N") + ".part");

    /// <summary>Writes a file atomically (temp file, then rename) and returns its SHA-256 in lowercase hex.</summary>
    public static async Task<string> WriteAtomicallyAsync(string path, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        var temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        await File.WriteAllBytesAsync(temp, bytes, cancellationToken).ConfigureAwait(false);
        File.Move(temp, path, overwrite: true);
        return Convert.ToHexStringLower(SHA256.HashData(bytes.Span));
    }
}
