using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Lora;

/// <summary>
/// One low-rank update of one layer: y = base(x) + λ·(alpha/r)·up(down(x)). For a convolution the down
/// weight is a conv with the base layer's kernel, stride and padding and the up weight a 1×1 conv (LoCon),
/// as PEFT and kohya apply them. Owns its tensors.
/// </summary>
public sealed class LoraModule : IDisposable
{
    /// <summary>
    /// Creates the module, taking ownership of <paramref name="down"/> ([r, in] or [r, in, k, k]) and
    /// <paramref name="up"/> ([out, r] or [out, r, 1, 1]), which must have the shapes <paramref name="target"/> requires.
    /// </summary>
    /// <exception cref="ArgumentException">The shapes do not fit <paramref name="target"/> or each other.</exception>
    public LoraModule(LoraTargetModule target, Tensor down, Tensor up, double alpha)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(down);
        ArgumentNullException.ThrowIfNull(up);
        var rank = down.Dim > 0 ? down.Size(0) : 0;
        if (rank == 0 || !down.Shape.AsSpan().SequenceEqual(target.DownShape(rank)) || !up.Shape.AsSpan().SequenceEqual(target.UpShape(rank)))
        {
            throw new ArgumentException(
                $"down {LoraKeyResolver.Show(down.Shape)} / up {LoraKeyResolver.Show(up.Shape)} do not fit {target}: " +
                $"expected {LoraKeyResolver.Show(target.DownShape(rank))} / {LoraKeyResolver.Show(target.UpShape(rank))}");
        }

        if (!double.IsFinite(alpha)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha must be finite");
        Target = target;
        Down = down;
        Up = up;
        Alpha = alpha;
        Rank = checked((int)rank);
    }

    /// <summary>The layer this module adapts.</summary>
    public LoraTargetModule Target { get; }

    /// <summary>The model component (<see cref="LoraComponent"/>).</summary>
    public string Component => Target.Component;

    /// <summary>The diffusers module path of the adapted layer inside <see cref="Component"/>.</summary>
    public string Path => Target.Path;

    /// <summary>Down (A) weight, [r, in] for Linear, [r, in, k, k] for Conv2d.</summary>
    public Tensor Down { get; }

    /// <summary>Up (B) weight, [out, r] for Linear, [out, r, 1, 1] for Conv2d.</summary>
    public Tensor Up { get; }

    /// <summary>Alpha; the file's, or the rank when the file has none (as kohya and diffusers read such files).</summary>
    public double Alpha { get; }

    /// <summary>Rank r (rows of <see cref="Down"/>).</summary>
    public int Rank { get; }

    /// <summary>alpha / r, the factor PEFT calls scaling (before the user's LoRA scale).</summary>
    public double Scale => Alpha / Rank;

    /// <summary>The file key of the down weight, when loaded from a file.</summary>
    public string? DownKey { get; init; }

    /// <summary>The file key of the up weight, when loaded from a file.</summary>
    public string? UpKey { get; init; }

    /// <summary>The file key of alpha; null when the file has none.</summary>
    public string? AlphaKey { get; init; }

    /// <summary>
    /// ΔW = (alpha/r)·up·down in the base weight's layout and this module's dtype and device, as PEFT's
    /// get_delta_weight computes it: Linear [out, in] = up·down; 1×1 conv the same product reshaped to
    /// [out, in, 1, 1]; k×k conv conv2d(down.permute(1, 0, 2, 3), up).permute(1, 0, 2, 3) = [out, in, k, k].
    /// Half-precision modules are multiplied in float32 and rounded once at the end.
    /// </summary>
    public Tensor DeltaWeight()
    {
        var dtype = Down.DType;
        var compute = dtype is DType.Float16 or DType.BFloat16 ? DType.Float32 : dtype;
        using var scope = TensorScope.Enter();
        var down = Down.To(compute);
        var up = Up.To(compute);
        Tensor product;
        if (Target.Kind == LoraLayerKind.Linear)
        {
            product = up.MatMul(down);
        }
        else if (Target.KernelSize == 1)
        {
            product = up.Reshape(Target.OutFeatures, Rank).MatMul(down.Reshape(Rank, Target.InFeatures))
                .Reshape(Target.OutFeatures, Target.InFeatures, 1, 1);
        }
        else
        {
            // Each input channel's k×k slice of down, convolved with up as a 1×1 conv, gives the composed kernel.
            product = Functional.Conv2d(down.Permute(1, 0, 2, 3), up).Permute(1, 0, 2, 3);
        }

        var delta = (product * Scale).Contiguous();
        return scope.MoveToOuter(delta.DType == dtype ? delta : delta.To(dtype));
    }

    /// <summary>Frees the down and up tensors.</summary>
    public void Dispose()
    {
        Down.Dispose();
        Up.Dispose();
    }

    /// <summary>Short description: target, rank and alpha.</summary>
    public override string ToString() => $"{Target.QualifiedName} r={Rank} alpha={Alpha}";
}
