using LoraGrains.Diffusion.Models;
using LoraGrains.Diffusion.Models.Layers;
using LoraGrains.Torch.Safetensors;

namespace LoraGrains.Diffusion.Lora;

/// <summary>
/// A layer of a model that a LoRA module can adapt, described without the model classes: its component,
/// diffusers module path and geometry. Adapters are matched and validated against a list of these.
/// </summary>
/// <param name="Component">The model component (<see cref="LoraComponent"/>), e.g. <c>unet</c>.</param>
/// <param name="Path">Diffusers module path inside the component, e.g. <c>mid_block.attentions.0.proj_in</c>.</param>
/// <param name="Kind">Linear or Conv2d.</param>
/// <param name="InFeatures">Input features (channels for a convolution).</param>
/// <param name="OutFeatures">Output features (channels for a convolution).</param>
/// <param name="KernelSize">Square kernel size; 1 for Linear.</param>
/// <param name="Stride">Convolution stride; 1 for Linear.</param>
/// <param name="Padding">Convolution zero padding; 0 for Linear.</param>
public sealed record LoraTargetModule(
    string Component, string Path, LoraLayerKind Kind, long InFeatures, long OutFeatures, int KernelSize, int Stride, int Padding)
{
    /// <summary><c>component.path</c>, e.g. <c>unet.mid_block.attentions.0.proj_in</c> (diffusers' adapter key prefix).</summary>
    public string QualifiedName => Component + "." + Path;

    /// <summary>The base layer's weight shape: [out, in] or [out, in, k, k].</summary>
    public long[] WeightShape => Kind == LoraLayerKind.Linear ? [OutFeatures, InFeatures] : [OutFeatures, InFeatures, KernelSize, KernelSize];

    /// <summary>The shape a down (A) weight of rank <paramref name="rank"/> must have: [r, in] or [r, in, k, k].</summary>
    public long[] DownShape(long rank) => Kind == LoraLayerKind.Linear ? [rank, InFeatures] : [rank, InFeatures, KernelSize, KernelSize];

    /// <summary>The shape an up (B) weight of rank <paramref name="rank"/> must have: [out, r] or [out, r, 1, 1].</summary>
    public long[] UpShape(long rank) => Kind == LoraLayerKind.Linear ? [OutFeatures, rank] : [OutFeatures, rank, 1, 1];

    /// <summary>Short description for messages, e.g. <c>unet.conv_in (Conv2d 4→32, 3x3, stride 1)</c>.</summary>
    public override string ToString() => Kind == LoraLayerKind.Linear
        ? $"{QualifiedName} (Linear {InFeatures}→{OutFeatures})"
        : $"{QualifiedName} (Conv2d {InFeatures}→{OutFeatures}, {KernelSize}x{KernelSize}, stride {Stride})";

    /// <summary>
    /// Every Linear and Conv2d layer of one component, read from its diffusers weights: each <c>X.weight</c> of
    /// rank 2 is a Linear X (except embedding tables, whose path ends in <c>embedding</c>), each of rank 4 with a
    /// square kernel a Conv2d X. Weights carry no stride or padding, so they follow diffusers' conventions:
    /// <list type="bullet">
    /// <item>UNet <c>downsamplers.N.conv</c>: stride 2, padding 1 (Downsample2D with padding=1);</item>
    /// <item>VAE encoder (<c>encoder.down_blocks.*.downsamplers.N.conv</c> in component <c>vae</c>): stride 2,
    /// padding 0, because diffusers pads (0, 1, 0, 1) explicitly before that conv;</item>
    /// <item>every other conv: stride 1, "same" padding k/2 (3×3 → 1, 1×1 → 0).</item>
    /// </list>
    /// </summary>
    public static IReadOnlyList<LoraTargetModule> FromWeights(string component, StateDict weights)
    {
        ArgumentNullException.ThrowIfNull(component);
        ArgumentNullException.ThrowIfNull(weights);
        return FromShapes(component, weights.Names.Select(n => (n, weights.ShapeOf(n)!)));
    }

    /// <summary>Every Linear and Conv2d layer of one component, from its diffusers weight file; see <see cref="FromWeights(string, StateDict)"/>.</summary>
    public static IReadOnlyList<LoraTargetModule> FromWeights(string component, SafetensorsFile weights)
    {
        ArgumentNullException.ThrowIfNull(component);
        ArgumentNullException.ThrowIfNull(weights);
        return FromShapes(component, weights.Entries.Select(e => (e.Key, e.Value.Shape)));
    }

    /// <summary>The target description of a built layer (<see cref="Linear"/> or <see cref="Conv2d"/>).</summary>
    /// <exception cref="ArgumentException">The layer is of another type.</exception>
    public static LoraTargetModule FromLayer(string component, IAdaptableLayer layer) => layer switch
    {
        Linear l => new(component, l.Name, LoraLayerKind.Linear, l.InFeatures, l.OutFeatures, 1, 1, 0),
        Conv2d c => new(component, c.Name, LoraLayerKind.Conv2d, c.InChannels, c.OutChannels, c.KernelSize, c.Stride, c.Padding),
        null => throw new ArgumentNullException(nameof(layer)),
        _ => throw new ArgumentException($"layer '{layer.Name}' is a {layer.GetType().Name}; only Linear and Conv2d can be adapted", nameof(layer)),
    };

    /// <summary>Every adaptable layer of a built model, in module path order.</summary>
    public static IReadOnlyList<LoraTargetModule> FromModel(string component, IAdaptableModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.AdaptableLayers.Values.Select(l => FromLayer(component, l)).OrderBy(t => t.Path, StringComparer.Ordinal).ToList();
    }

    private static List<LoraTargetModule> FromShapes(string component, IEnumerable<(string Name, long[] Shape)> weights)
    {
        const string suffix = ".weight";
        var result = new List<LoraTargetModule>();
        foreach (var (name, shape) in weights)
        {
            if (!name.EndsWith(suffix, StringComparison.Ordinal)) continue;
            var path = name[..^suffix.Length];
            var lastDot = path.LastIndexOf('.');
            var leaf = lastDot < 0 ? path : path[(lastDot + 1)..];
            if (shape.Length == 2 && !leaf.EndsWith("embedding", StringComparison.Ordinal))
            {
                result.Add(new(component, path, LoraLayerKind.Linear, shape[1], shape[0], 1, 1, 0));
            }
            else if (shape.Length == 4 && shape[2] == shape[3])
            {
                var k = checked((int)shape[2]);
                var (stride, padding) = ConvGeometry(component, path, k);
                result.Add(new(component, path, LoraLayerKind.Conv2d, shape[1], shape[0], k, stride, padding));
            }
        }

        result.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return result;
    }

    private static (int Stride, int Padding) ConvGeometry(string component, string path, int kernel)
    {
        var isDownsampler = path.Contains(".downsamplers.", StringComparison.Ordinal) && path.EndsWith(".conv", StringComparison.Ordinal);
        if (!isDownsampler) return (1, kernel / 2);
        var vaeEncoder = component == "vae" && path.StartsWith("encoder.", StringComparison.Ordinal);
        return (2, vaeEncoder ? 0 : 1);
    }
}
