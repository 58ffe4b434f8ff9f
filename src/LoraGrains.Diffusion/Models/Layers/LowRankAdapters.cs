using LoraGrains.Diffusion.Lora;
using LoraGrains.Torch;

namespace LoraGrains.Diffusion.Models.Layers;

/// <summary>
/// The LoRA adapters attached to one Linear or Conv2d layer, applied unmerged:
/// y = base(x) + Σᵢ upᵢ(scaleᵢ ⊙ downᵢ(x)). Activating a set only points at tensors that already exist, so it never
/// copies a weight: each active adapter is one low-rank term. A set prepared ahead of use (<see cref="Prepare"/>) is
/// one term instead — its members' matrices concatenated into one pair ([A₁;…;A_N], [B₁|…|B_N]) so N adapters cost
/// two products — kept in a small least-recently-used cache keyed by the members in attach order, so [a,b] and [b,a]
/// share one copy.
/// </summary>
public sealed class LowRankAdapters : IDisposable
{
    private readonly bool isConv;
    private readonly int stride;
    private readonly int padding;
    private readonly Dictionary<string, Attached> attached = new(StringComparer.Ordinal);
    private readonly LinkedList<Concatenation> concatenations = new();
    private readonly List<Term> active = [];
    private long nextSequence;
    private int capacity = DefaultPreparedSetCapacity;

    /// <summary>Concatenated sets a layer keeps by default.</summary>
    public const int DefaultPreparedSetCapacity = 4;

    private sealed record Attached(string Id, Tensor Down, Tensor Up, double ModuleScale, long Rank, long Sequence);

    private sealed record Concatenation(string[] Members, Tensor Down, Tensor Up);

    private readonly record struct Term(Tensor Down, Tensor Up, Tensor Scale);

    internal LowRankAdapters(bool isConv, int stride = 1, int padding = 0)
    {
        this.isConv = isConv;
        this.stride = stride;
        this.padding = padding;
    }

    /// <summary>Ids of the attached adapters.</summary>
    public IReadOnlyCollection<string> AttachedIds => attached.Keys;

    /// <summary>True when at least one adapter contributes to the next forward.</summary>
    public bool IsActive => active.Count > 0;

    /// <summary>Low-rank terms the next forward computes (1 for a prepared set, else one per active adapter).</summary>
    public int ActiveTerms => active.Count;

    /// <summary>Concatenated sets cached now.</summary>
    public int PreparedSets => concatenations.Count;

    /// <summary>How many concatenated sets this layer keeps (least recently used ones are freed first).</summary>
    public int PreparedSetCapacity
    {
        get => capacity;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            capacity = value;
            Trim();
        }
    }

    /// <summary>
    /// Attaches an adapter's matrices (down [r,in(,k,k)], up [out,r(,1,1)], net module scale α/r).
    /// The tensors stay owned by the adapter.
    /// </summary>
    public void Attach(string adapterId, Tensor down, Tensor up, double moduleScale)
    {
        ArgumentNullException.ThrowIfNull(down);
        ArgumentNullException.ThrowIfNull(up);
        if (!attached.TryAdd(adapterId, new Attached(adapterId, down, up, moduleScale, down.Size(0), nextSequence++)))
            throw new InvalidOperationException($"adapter '{adapterId}' is already attached");
    }

    /// <summary>Removes an adapter (and every cached concatenation that contains it).</summary>
    public void Detach(string adapterId)
    {
        if (!attached.Remove(adapterId)) return;
        Deactivate();
        for (var node = concatenations.First; node is not null;)
        {
            var next = node.Next;
            if (node.Value.Members.Contains(adapterId)) Free(node);
            node = next;
        }
    }

    /// <summary>
    /// Builds the concatenation of the attached adapters among <paramref name="adapterIds"/> (when there are two or
    /// more), so activating that set later computes one low-rank term instead of one per adapter. Costs a copy of the
    /// members' matrices; meant for when a run is admitted, not between steps.
    /// </summary>
    public void Prepare(IReadOnlyCollection<string> adapterIds)
    {
        ArgumentNullException.ThrowIfNull(adapterIds);
        var members = adapterIds.Where(attached.ContainsKey).Select(id => attached[id]).OrderBy(a => a.Sequence).ToList();
        if (members.Count < 2 || capacity == 0 || Find(members) is not null) return;
        using var scope = TensorScope.Enter();
        var down = scope.Disown(Torch.Torch.Cat(members.Select(p => p.Down).ToList(), 0));
        var up = scope.Disown(Torch.Torch.Cat(members.Select(p => p.Up).ToList(), 1));
        concatenations.AddFirst(new Concatenation([.. members.Select(m => m.Id)], down, up));
        Trim();
    }

    /// <summary>Selects the adapters of <paramref name="activation"/> that are attached here. Never copies a weight.</summary>
    public void Activate(AdapterActivation activation)
    {
        ArgumentNullException.ThrowIfNull(activation);
        // Members in attach order, so every ordering of one set finds the same concatenation.
        var members = new List<(int Index, Attached Part)>(activation.AdapterIds.Count);
        for (var i = 0; i < activation.AdapterIds.Count; i++)
        {
            if (attached.TryGetValue(activation.AdapterIds[i], out var part)) members.Add((i, part));
        }

        active.Clear();
        if (members.Count == 0) return;
        members.Sort((a, b) => a.Part.Sequence.CompareTo(b.Part.Sequence));

        var parts = members.ConvertAll(m => m.Part);
        if (members.Count > 1 && Find(parts) is { } node)
        {
            // Most recently used first: eviction takes from the tail.
            concatenations.Remove(node);
            concatenations.AddFirst(node);
            var scale = activation.ScaleFor(members.ConvertAll(m => m.Index), parts.ConvertAll(p => p.ModuleScale), parts.ConvertAll(p => p.Rank),
                node.Value.Down.Device, node.Value.Down.DType);
            active.Add(new Term(node.Value.Down, node.Value.Up, scale));
            return;
        }

        foreach (var (index, part) in members)
        {
            active.Add(new Term(part.Down, part.Up, activation.ScaleFor([index], [part.ModuleScale], [part.Rank], part.Down.Device, part.Down.DType)));
        }
    }

    /// <summary>No adapter contributes to the next forward.</summary>
    public void Deactivate() => active.Clear();

    /// <summary>Adds the active low-rank branch for input <paramref name="x"/> to <paramref name="output"/> in place.</summary>
    internal Tensor AddTo(Tensor output, Tensor x)
    {
        foreach (var term in active)
        {
            using var scope = TensorScope.Enter();
            if (isConv)
            {
                var h = Functional.Conv2d(x, term.Down, null, stride, padding);
                var s = term.Scale.Dim == 1 ? term.Scale.View(-1, 1, 1) : term.Scale.View(term.Scale.Size(0), -1, 1, 1);
                h.MulInPlace(s);
                output.AddInPlace(Functional.Conv2d(h, term.Up));
            }
            else
            {
                var h = Functional.Linear(x, term.Down);
                if (term.Scale.Dim == 1)
                {
                    h.MulInPlace(term.Scale);
                }
                else
                {
                    // [B, R] → [B, 1, …, 1, R] to broadcast over the sequence dimensions of x.
                    var shape = new long[h.Dim];
                    Array.Fill(shape, 1L);
                    shape[0] = term.Scale.Size(0);
                    shape[^1] = term.Scale.Size(1);
                    h.MulInPlace(term.Scale.View(shape));
                }

                // Accumulate straight into the base output: no output-sized temporary, no separate add pass.
                if (output.IsContiguous) output.AddLinearInPlace(h, term.Up);
                else output.AddInPlace(Functional.Linear(h, term.Up));
            }
        }

        return output;
    }

    /// <summary>
    /// Σ scaleᵢ·ΔWᵢ of the active uniform set in the base weight's layout, for fusing into the weight.
    /// </summary>
    internal Tensor ActiveDelta(long[] weightShape)
    {
        if (active.Count == 0) throw new InvalidOperationException("no adapter is active");
        if (active.Any(t => t.Scale.Dim != 1)) throw new InvalidOperationException("a segmented (per-row) activation cannot be fused into one weight");
        // Linear: up·diag(s)·down. Conv: a k×k down followed by a 1×1 up is one k×k conv with that same product as weight.
        using var scope = TensorScope.Enter();
        Tensor? delta = null;
        foreach (var term in active)
        {
            var d = (term.Up.Flatten(1) * term.Scale).MatMul(term.Down.Flatten(1));
            delta = delta is null ? d : delta + d;
        }

        return scope.MoveToOuter(delta!.Reshape(weightShape));
    }

    private LinkedListNode<Concatenation>? Find(List<Attached> members)
    {
        for (var node = concatenations.First; node is not null; node = node.Next)
        {
            var ids = node.Value.Members;
            if (ids.Length != members.Count) continue;
            var same = true;
            for (var i = 0; i < ids.Length && same; i++) same = string.Equals(ids[i], members[i].Id, StringComparison.Ordinal);
            if (same) return node;
        }

        return null;
    }

    // Frees least recently used concatenations beyond the capacity, never the one the active set computes with.
    private void Trim()
    {
        var node = concatenations.Last;
        while (node is not null && concatenations.Count > capacity)
        {
            var previous = node.Previous;
            if (!InUse(node.Value)) Free(node);
            node = previous;
        }
    }

    private bool InUse(Concatenation concatenation) => active.Exists(t => ReferenceEquals(t.Down, concatenation.Down));

    private void Free(LinkedListNode<Concatenation> node)
    {
        if (InUse(node.Value)) active.Clear();
        node.Value.Down.Dispose();
        node.Value.Up.Dispose();
        concatenations.Remove(node);
    }

    /// <summary>Frees the cached concatenations (the attached matrices belong to their adapters).</summary>
    public void Dispose()
    {
        active.Clear();
        while (concatenations.First is { } node) Free(node);
        attached.Clear();
    }
}
