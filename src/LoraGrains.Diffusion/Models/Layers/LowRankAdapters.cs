using LoraGrains.Diffusion.Lora;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.Layers;

/// <summary>
/// The LoRA adapters attached to one Linear or Conv2d layer, applied unmerged:
/// y = base(x) + up(scale ⊙ down(x)), where the active adapters' down/up matrices are concatenated
/// into one pair ([A₁;…;A_N], [B₁|…|B_N]) so N adapters cost two small products. Concatenations are
/// cached per active set, so switching adapters is a lookup, never a weight rewrite.
/// </summary>
public sealed class LowRankAdapters : IDisposable
{
    private readonly bool isConv;
    private readonly int stride;
    private readonly int padding;
    private readonly Dictionary<string, Attached> attached = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (Tensor Down, Tensor Up)> concatenations = new(StringComparer.Ordinal);
    private Tensor? activeDown;
    private Tensor? activeUp;
    private Tensor? activeScale;

    private sealed record Attached(Tensor Down, Tensor Up, double ModuleScale, long Rank);

    internal LowRankAdapters(bool isConv, int stride = 1, int padding = 0)
    {
        this.isConv = isConv;
        this.stride = stride;
        this.padding = padding;
    }

    /// <summary>Ids of the attached adapters.</summary>
    public IReadOnlyCollection<string> AttachedIds => attached.Keys;

    /// <summary>True when at least one adapter contributes to the next forward.</summary>
    public bool IsActive => activeDown is not null;

    /// <summary>
    /// Attaches an adapter's matrices (down [r,in(,k,k)], up [out,r(,1,1)], net module scale α/r).
    /// The tensors stay owned by the adapter.
    /// </summary>
    public void Attach(string adapterId, Tensor down, Tensor up, double moduleScale)
    {
        ArgumentNullException.ThrowIfNull(down);
        ArgumentNullException.ThrowIfNull(up);
        if (!attached.TryAdd(adapterId, new Attached(down, up, moduleScale, down.Size(0))))
            throw new InvalidOperationException($"adapter '{adapterId}' is already attached");
    }

    /// <summary>Removes an adapter (and every cached concatenation that contains it).</summary>
    public void Detach(string adapterId)
    {
        if (!attached.Remove(adapterId)) return;
        Deactivate();
        foreach (var key in concatenations.Keys.Where(k => k.Split('\n').Contains(adapterId)).ToList())
        {
            var (d, u) = concatenations[key];
            d.Dispose();
            u.Dispose();
            concatenations.Remove(key);
        }
    }

    /// <summary>Selects the adapters of <paramref name="activation"/> that are attached here.</summary>
    public void Activate(AdapterActivation activation)
    {
        ArgumentNullException.ThrowIfNull(activation);
        var members = new List<int>();
        for (var i = 0; i < activation.AdapterIds.Count; i++)
        {
            if (attached.ContainsKey(activation.AdapterIds[i])) members.Add(i);
        }

        if (members.Count == 0)
        {
            Deactivate();
            return;
        }

        var parts = members.Select(i => attached[activation.AdapterIds[i]]).ToList();
        var key = string.Join('\n', members.Select(i => activation.AdapterIds[i]));
        if (!concatenations.TryGetValue(key, out var pair))
        {
            using var scope = TensorScope.Enter();
            pair = parts.Count == 1
                ? (parts[0].Down, parts[0].Up)
                : (scope.Disown(Torch.Torch.Cat(parts.Select(p => p.Down).ToList(), 0)),
                   scope.Disown(Torch.Torch.Cat(parts.Select(p => p.Up).ToList(), 1)));
            if (parts.Count > 1) concatenations[key] = pair;
        }

        activeDown = pair.Down;
        activeUp = pair.Up;
        activeScale = activation.ScaleFor(members, parts.Select(p => p.ModuleScale).ToList(), parts.Select(p => p.Rank).ToList(),
            pair.Down.Device, pair.Down.DType);
    }

    /// <summary>No adapter contributes to the next forward.</summary>
    public void Deactivate()
    {
        activeDown = null;
        activeUp = null;
        activeScale = null;
    }

    /// <summary>Adds the active low-rank branch for input <paramref name="x"/> to <paramref name="output"/> in place.</summary>
    internal Tensor AddTo(Tensor output, Tensor x)
    {
        if (activeDown is null) return output;
        using var scope = TensorScope.Enter();
        if (isConv)
        {
            var h = Functional.Conv2d(x, activeDown, null, stride, padding);
            var s = activeScale!.Dim == 1 ? activeScale.View(-1, 1, 1) : activeScale.View(activeScale.Size(0), -1, 1, 1);
            h.MulInPlace(s);
            output.AddInPlace(Functional.Conv2d(h, activeUp!));
        }
        else
        {
            var h = Functional.Linear(x, activeDown);
            if (activeScale!.Dim == 1)
            {
                h.MulInPlace(activeScale);
            }
            else
            {
                // [B, R] → [B, 1, …, 1, R] to broadcast over the sequence dimensions of x.
                var shape = new long[h.Dim];
                Array.Fill(shape, 1L);
                shape[0] = activeScale.Size(0);
                shape[^1] = activeScale.Size(1);
                h.MulInPlace(activeScale.View(shape));
            }

            // Accumulate straight into the base output: no output-sized temporary, no separate add pass.
            if (output.IsContiguous) output.AddLinearInPlace(h, activeUp!);
            else output.AddInPlace(Functional.Linear(h, activeUp!));
        }

        return output;
    }

    /// <summary>
    /// Σ scaleᵢ·ΔWᵢ of the active uniform set in the base weight's layout, for fusing into the weight.
    /// </summary>
    internal Tensor ActiveDelta(long[] weightShape)
    {
        if (activeDown is null) throw new InvalidOperationException("no adapter is active");
        if (activeScale!.Dim != 1) throw new InvalidOperationException("a segmented (per-row) activation cannot be fused into one weight");
        // Linear: up·diag(s)·down. Conv: a k×k down followed by a 1×1 up is one k×k conv with that same product as weight.
        using var scope = TensorScope.Enter();
        var delta = (activeUp!.Flatten(1) * activeScale).MatMul(activeDown.Flatten(1)).Reshape(weightShape);
        return scope.MoveToOuter(delta);
    }

    /// <summary>Frees the cached concatenations (the attached matrices belong to their adapters).</summary>
    public void Dispose()
    {
        Deactivate();
        foreach (var (d, u) in concatenations.Values)
        {
            d.Dispose();
            u.Dispose();
        }

        concatenations.Clear();
        attached.Clear();
    }
}
