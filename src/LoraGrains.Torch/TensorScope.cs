namespace LoraGrains.Torch;

/// <summary>
/// A disposal scope: every tensor created on this thread while the scope is the innermost one is
/// freed when the scope is disposed, unless it was moved out with <see cref="MoveToOuter"/>.
/// Model code runs synchronously inside one scope per call, so the scope is per thread.
/// </summary>
/// <example><code>
/// using var scope = TensorScope.Enter();
/// var h = x.Linear(w1).Silu();          // freed at the end of the scope
/// return scope.MoveToOuter(h.Linear(w2)); // survives the scope
/// </code></example>
public sealed class TensorScope : IDisposable
{
    [ThreadStatic] private static TensorScope? current;

    private readonly TensorScope? parent;
    private readonly List<Tensor> owned = [];
    private bool disposed;

    private TensorScope(TensorScope? parent) => this.parent = parent;

    /// <summary>The innermost open scope on this thread, or null.</summary>
    public static TensorScope? Current => current;

    /// <summary>Opens a new innermost scope on this thread.</summary>
    public static TensorScope Enter() => current = new TensorScope(current);

    /// <summary>Number of live tensors this scope will free.</summary>
    public int Count => owned.Count(t => !t.IsDisposed);

    internal static void Register(Tensor tensor) => current?.owned.Add(tensor);

    /// <summary>Keeps <paramref name="tensor"/> alive past this scope: it moves to the enclosing scope, or to no scope.</summary>
    public Tensor MoveToOuter(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        // Search from the end: the tensor to keep is nearly always among the last ones created.
        var i = owned.LastIndexOf(tensor);
        if (i >= 0) owned.RemoveAt(i);
        OpenAncestor()?.owned.Add(tensor);
        return tensor;
    }

    /// <summary>This scope stops owning <paramref name="tensor"/> without handing it to an enclosing scope: the caller now disposes it (long-lived state such as weights).</summary>
    public Tensor Disown(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var i = owned.LastIndexOf(tensor);
        if (i >= 0) owned.RemoveAt(i);
        return tensor;
    }

    /// <summary>
    /// Stops tracking every tensor this scope owns, without freeing them and without handing them to the
    /// enclosing scope: the caller now owns them. Used to build long-lived objects such as model weights:
    /// build inside a scope so a failure frees what was loaded so far, then detach on success.
    /// </summary>
    public void DetachAll() => owned.Clear();

    /// <summary>Frees every tensor this scope owns and makes the enclosing scope current again.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        foreach (var t in owned) t.Dispose();
        owned.Clear();
        if (ReferenceEquals(current, this)) current = OpenAncestor();
    }

    // The nearest enclosing scope still open. Scopes disposed out of order (an outer one before an inner one)
    // are skipped: a disposed scope never frees again, so tensors registered in it would leak.
    private TensorScope? OpenAncestor()
    {
        var p = parent;
        while (p is { disposed: true }) p = p.parent;
        return p;
    }
}
