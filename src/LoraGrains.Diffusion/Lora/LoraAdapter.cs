using System.Security.Cryptography;
using LoraGrains.Torch;
using LoraGrains.Torch.Safetensors;

namespace LoraGrains.Diffusion.Lora;

/// <summary>
/// A LoRA file parsed and validated against a model: its modules, matched to the model's layers, with their
/// weights on a chosen device and dtype. The format (kohya, diffusers, PEFT) is detected from the key names.
/// Owns the module tensors.
/// </summary>
public sealed class LoraAdapter : IDisposable
{
    private readonly List<LoraModule> modules;

    private LoraAdapter(string name, string filePath, LoraFormat format, string contentHash,
        IReadOnlyDictionary<string, string> metadata, List<LoraModule> modules, LoraLoadReport report)
    {
        Name = name;
        FilePath = filePath;
        Format = format;
        ContentHash = contentHash;
        Metadata = metadata;
        this.modules = modules;
        Report = report;
    }

    /// <summary>The adapter's name (the file name without extension unless given in the options).</summary>
    public string Name { get; }

    /// <summary>The file it was loaded from.</summary>
    public string FilePath { get; }

    /// <summary>The detected key naming.</summary>
    public LoraFormat Format { get; }

    /// <summary>SHA-256 of the file's bytes, lower-case hex: identifies the content whatever the file is called.</summary>
    public string ContentHash { get; }

    /// <summary>The file's safetensors <c>__metadata__</c> (kohya's ss_* training settings, for instance).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Every matched module, ordered by component and module path.</summary>
    public IReadOnlyList<LoraModule> Modules => modules;

    /// <summary>What was applied and what was left out.</summary>
    public LoraLoadReport Report { get; }

    /// <summary>Bytes of the module weights (down and up of every module) as held now.</summary>
    public long ByteSize => modules.Sum(m => m.Down.ByteSize + m.Up.ByteSize);

    /// <summary>True when every weight is in page-locked (pinned) host memory (false for an adapter without modules).</summary>
    public bool IsPinned => modules.Count > 0 && modules.All(m => m.Down.IsPinned && m.Up.IsPinned);

    /// <summary>
    /// A copy of this adapter with every weight on <paramref name="device"/> as <paramref name="dtype"/>; the copy owns
    /// its tensors and this adapter is unchanged. With <paramref name="nonBlocking"/>, copies from pinned host memory
    /// to a CUDA device are queued without waiting (ordered before later work on the current stream).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="dtype"/> is not a floating-point type.</exception>
    public LoraAdapter To(Device device, DType dtype, bool nonBlocking = false)
    {
        if (!dtype.IsFloatingPoint()) throw new ArgumentException($"LoRA weights need a floating-point dtype, not {dtype}", nameof(dtype));
        return Copy(t => t.To(device, dtype, copy: true, nonBlocking));
    }

    /// <summary>
    /// A copy of this adapter in page-locked (pinned) host memory, same dtype, from which promotion back to a CUDA
    /// device is a fast asynchronous copy.
    /// </summary>
    /// <exception cref="TorchException">CUDA is not available (pinned memory needs the CUDA host allocator).</exception>
    public LoraAdapter ToPinnedHost() => Copy(t =>
    {
        if (t.Device.IsCuda)
        {
            using var host = t.To(Device.Cpu);
            return host.PinMemory();
        }

        return t.PinMemory();
    });

    private LoraAdapter Copy(Func<Tensor, Tensor> copy)
    {
        var copied = new List<LoraModule>(modules.Count);
        try
        {
            foreach (var m in modules)
            {
                Tensor? down = null, up = null;
                try
                {
                    down = copy(m.Down);
                    up = copy(m.Up);
                    copied.Add(new LoraModule(m.Target, down, up, m.Alpha) { DownKey = m.DownKey, UpKey = m.UpKey, AlphaKey = m.AlphaKey });
                }
                catch
                {
                    down?.Dispose();
                    up?.Dispose();
                    throw;
                }
            }

            return new LoraAdapter(Name, FilePath, Format, ContentHash, Metadata, copied, Report);
        }
        catch
        {
            foreach (var m in copied) m.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads <paramref name="path"/>, matches its modules to <paramref name="targets"/> and loads their weights
    /// onto <paramref name="device"/> as <paramref name="dtype"/>. Everything that can be checked from the
    /// header (format, pairing, ranks, shapes, unknown modules) is checked before any weight is read; then
    /// each weight is checked for NaN and infinity. Nothing is returned, and nothing left allocated, unless
    /// the whole file is valid.
    /// </summary>
    /// <param name="path">The .safetensors LoRA file.</param>
    /// <param name="targets">The model's adaptable layers, all components (see <see cref="LoraTargetModule.FromWeights(string, LoraGrains.Diffusion.Models.StateDict)"/>).</param>
    /// <param name="device">Where the weights go.</param>
    /// <param name="dtype">Their floating-point type.</param>
    /// <param name="options">Name and strictness; <see cref="LoraLoadOptions.Default"/> when null.</param>
    /// <exception cref="LoraFormatException">
    /// The file is missing, empty, truncated or not safetensors; holds no LoRA keys, mixes formats or is an
    /// unsupported kind (LyCORIS LoHa/LoKr, DoRA); has a down without an up (or the reverse), a rank mismatch,
    /// a shape that does not fit its layer, NaN or infinite values; or more than half of its modules match no
    /// layer (with <see cref="LoraLoadOptions.RejectUnmatchedKeys"/>: any key is not applied).
    /// </exception>
    public static LoraAdapter Load(string path, IReadOnlyCollection<LoraTargetModule> targets, Device device, DType dtype, LoraLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(targets);
        if (!dtype.IsFloatingPoint()) throw new ArgumentException($"LoRA weights need a floating-point dtype, not {dtype}", nameof(dtype));
        options ??= LoraLoadOptions.Default;
        var index = new LoraTargetIndex(targets);

        SafetensorsFile file;
        try
        {
            file = SafetensorsFile.Open(path);
        }
        catch (SafetensorsException e)
        {
            throw new LoraFormatException(path, "not a readable safetensors file: " + e.Problem, e);
        }

        using (file)
        {
            var resolution = LoraKeyResolver.Resolve(file, index, options);
            var loaded = LoadModules(file, resolution.Modules, device, dtype);
            try
            {
                var perComponent = loaded.GroupBy(m => m.Component, StringComparer.Ordinal)
                    .OrderBy(g => g.Key, StringComparer.Ordinal)
                    .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
                var report = new LoraLoadReport(file.Entries.Count, perComponent, resolution.Unmatched);
                var metadata = new Dictionary<string, string>(file.Metadata, StringComparer.Ordinal);
                var name = options.Name ?? System.IO.Path.GetFileNameWithoutExtension(path);
                return new LoraAdapter(name, path, resolution.Format, HashFile(path), metadata, loaded, report);
            }
            catch
            {
                foreach (var m in loaded) m.Dispose();
                throw;
            }
        }
    }

    private static List<LoraModule> LoadModules(SafetensorsFile file, IReadOnlyList<LoraResolvedModule> plan, Device device, DType dtype)
    {
        var result = new List<LoraModule>(plan.Count);
        try
        {
            foreach (var m in plan)
            {
                Tensor? down = null, up = null;
                try
                {
                    down = LoadWeight(file, m.Down, device, dtype);
                    var rank = down.Size(0);
                    down = AsShape(down, m.Target.DownShape(rank));
                    up = AsShape(LoadWeight(file, m.Up, device, dtype), m.Target.UpShape(rank));
                    var alpha = m.Alpha is null ? rank : ReadAlpha(file, m.Alpha);
                    result.Add(new LoraModule(m.Target, down, up, alpha) { DownKey = m.Down.Name, UpKey = m.Up.Name, AlphaKey = m.Alpha?.Name });
                }
                catch
                {
                    down?.Dispose();
                    up?.Dispose();
                    throw;
                }
            }

            return result;
        }
        catch
        {
            foreach (var m in result) m.Dispose();
            throw;
        }
    }

    // Reshapes the 1×1 equivalents the resolver accepted ([r, in] for a 1×1 conv, [r, in, 1, 1] for a Linear).
    private static Tensor AsShape(Tensor t, long[] shape)
    {
        if (t.Shape.AsSpan().SequenceEqual(shape)) return t;
        using (t)
        {
            return t.Reshape(shape);
        }
    }

    private static Tensor LoadWeight(SafetensorsFile file, SafetensorsEntry entry, Device device, DType dtype)
    {
        var t = file.Load(entry, device, dtype);
        try
        {
            var problem = NonFinite(t);
            if (problem is null) return t;

            // Tell a bad file from values that only overflow the requested dtype (a float32 LoRA loaded as float16).
            using var source = file.Load(entry, Device.Cpu, DType.Float64);
            var inFile = NonFinite(source);
            throw new LoraFormatException(file.FilePath, inFile is null
                ? $"'{entry.Name}' has values too large for {dtype} ({problem} after conversion)"
                : $"'{entry.Name}' {inFile}");
        }
        catch
        {
            t.Dispose();
            throw;
        }
    }

    private static string? NonFinite(Tensor t)
    {
        using var scope = TensorScope.Enter();
        var bad = (long)t.IsFinite().LogicalNot().Sum().Item();
        if (bad == 0) return null;
        var nan = (long)t.Eq(t).LogicalNot().Sum().Item();
        var inf = bad - nan;
        var total = t.NumEl;
        return (nan, inf) switch
        {
            ( > 0, > 0) => $"contains NaN and infinite values ({nan} NaN and {inf} infinite of {total})",
            ( > 0, _) => $"contains NaN ({nan} of {total} values)",
            _ => $"contains infinite values ({inf} of {total})",
        };
    }

    private static double ReadAlpha(SafetensorsFile file, SafetensorsEntry entry)
    {
        using var t = file.Load(entry, Device.Cpu, DType.Float64);
        var alpha = t.Item();
        if (!double.IsFinite(alpha)) throw new LoraFormatException(file.FilePath, $"alpha '{entry.Name}' is {alpha}");
        return alpha;
    }

    private static string HashFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>Frees every module's tensors.</summary>
    public void Dispose()
    {
        foreach (var m in modules) m.Dispose();
    }

    /// <summary>Name, format and module count.</summary>
    public override string ToString() => $"{Name} ({Format}, {modules.Count} modules)";
}
