using LoraGrains.Diffusion.Models.Layers;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.UNet;

/// <summary>
/// diffusers' ResnetBlock2D as the SD UNet uses it (time_embedding_norm "default", SiLU, no up/down sampling):
/// norm1 → silu → conv1 → + time_emb_proj(silu(temb)) → norm2 → silu → conv2, plus the (1×1-projected) input.
/// </summary>
internal sealed class UNetResnetBlock
{
    private readonly GroupNorm norm1;
    private readonly Conv2d conv1;
    private readonly Linear? timeEmbProj;
    private readonly GroupNorm norm2;
    private readonly Conv2d conv2;
    private readonly Conv2d? convShortcut;
    private readonly double outputScaleFactor;

    public UNetResnetBlock(UNetLayers layers, string name, long inChannels, long outChannels, long? tembChannels, int groups, double eps,
        double outputScaleFactor = 1)
    {
        norm1 = layers.GroupNorm(name + ".norm1", groups, inChannels, eps);
        conv1 = layers.Conv2d(name + ".conv1", inChannels, outChannels, 3, padding: 1);
        if (tembChannels is { } t) timeEmbProj = layers.Linear(name + ".time_emb_proj", t, outChannels);
        norm2 = layers.GroupNorm(name + ".norm2", groups, outChannels, eps);
        conv2 = layers.Conv2d(name + ".conv2", outChannels, outChannels, 3, padding: 1);
        if (inChannels != outChannels) convShortcut = layers.Conv2d(name + ".conv_shortcut", inChannels, outChannels, 1);
        this.outputScaleFactor = outputScaleFactor;
    }

    /// <summary>Applies the block to <paramref name="input"/> [B, Cin, H, W] with the time embedding <paramref name="temb"/> [B, T].</summary>
    public Tensor Forward(Tensor input, Tensor? temb)
    {
        using var scope = TensorScope.Enter();
        var h = norm1.Forward(input).SiluInPlace();
        var x = conv1.Forward(h);
        h.Dispose();
        if (timeEmbProj is not null && temb is not null)
        {
            using var act = temb.Silu();
            using var proj = timeEmbProj.Forward(act);
            using var bias = proj.View(proj.Size(0), proj.Size(1), 1, 1);
            x.AddInPlace(bias);
        }

        h = norm2.Forward(x).SiluInPlace();
        x.Dispose();
        var output = conv2.Forward(h);
        h.Dispose();
        if (convShortcut is null)
        {
            output.AddInPlace(input);
        }
        else
        {
            using var shortcut = convShortcut.Forward(input);
            output.AddInPlace(shortcut);
        }

        if (outputScaleFactor != 1) output.DivInPlace(outputScaleFactor);
        return scope.MoveToOuter(output);
    }
}
