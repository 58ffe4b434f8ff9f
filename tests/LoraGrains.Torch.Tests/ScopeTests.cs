namespace LoraGrains.Torch.Tests;

/// <summary>Ownership rules of <see cref="TensorScope"/>.</summary>
public sealed class ScopeTests
{
    [Fact]
    public void Scope_frees_tensors_created_inside_and_only_those()
    {
        using var before = Torch.Ones([2]);
        Tensor a, b, c;
        Tensor[] parts;
        using (var scope = TensorScope.Enter())
        {
            Assert.Same(scope, TensorScope.Current);
            a = Torch.Ones([2]);
            b = a + before;
            c = b.Exp();
            parts = Torch.Ones([4]).Chunk(2);
            Assert.Equal(6, scope.Count);    // a, b, c, the ones, two chunks
            Assert.False(c.IsDisposed);
        }

        Assert.True(a.IsDisposed);
        Assert.True(b.IsDisposed);
        Assert.True(c.IsDisposed);
        Assert.All(parts, p => Assert.True(p.IsDisposed));
        Assert.False(before.IsDisposed);
        Assert.Equal([1f, 1f], before.ToArray<float>());
    }

    [Fact]
    public void MoveToOuter_keeps_a_tensor_alive_past_its_scope()
    {
        Tensor kept, dropped;
        using (var scope = TensorScope.Enter())
        {
            dropped = Torch.Full([2], 3);
            kept = scope.MoveToOuter(dropped * 2);
            Assert.Equal(1, scope.Count);
        }

        Assert.True(dropped.IsDisposed);
        Assert.False(kept.IsDisposed);
        Assert.Equal([6f, 6f], kept.ToArray<float>());
        kept.Dispose();
    }

    [Fact]
    public void Nested_scopes_free_inner_tensors_first_and_moved_ones_with_the_outer_scope()
    {
        Assert.Null(TensorScope.Current);
        Tensor outerOwned, innerOwned, promoted;
        using (var outer = TensorScope.Enter())
        {
            outerOwned = Torch.Ones([1]);
            using (var inner = TensorScope.Enter())
            {
                Assert.Same(inner, TensorScope.Current);
                innerOwned = Torch.Ones([1]);
                promoted = inner.MoveToOuter(Torch.Zeros([1]));
            }

            Assert.Same(outer, TensorScope.Current);
            Assert.True(innerOwned.IsDisposed);
            Assert.False(promoted.IsDisposed);
            Assert.False(outerOwned.IsDisposed);
            Assert.Equal(2, outer.Count);
        }

        Assert.Null(TensorScope.Current);
        Assert.True(outerOwned.IsDisposed);
        Assert.True(promoted.IsDisposed);
    }

    [Fact]
    public void Disposing_twice_and_early_disposal_inside_are_harmless()
    {
        var scope = TensorScope.Enter();
        var t = Torch.Ones([1]);
        t.Dispose();
        Assert.Equal(0, scope.Count);
        scope.Dispose();
        scope.Dispose();
        Assert.Null(TensorScope.Current);
    }

    [Fact]
    public void Out_of_order_disposal_never_leaves_a_disposed_scope_current()
    {
        var outer = TensorScope.Enter();
        var inner = TensorScope.Enter();
        var moved = Torch.Ones([1]);
        outer.Dispose();                 // wrong order: the outer scope goes first
        inner.MoveToOuter(moved);        // no open scope above: the tensor becomes unowned, not lost in a dead scope
        inner.Dispose();
        Assert.Null(TensorScope.Current);
        Assert.False(moved.IsDisposed);
        moved.Dispose();
    }

    [Fact]
    public void Scopes_are_per_thread()
    {
        using var scope = TensorScope.Enter();
        Tensor? other = null;
        var thread = new Thread(() => other = Torch.Ones([1]));
        thread.Start();
        thread.Join();
        Assert.Equal(0, scope.Count);
        scope.Dispose();
        Assert.NotNull(other);
        Assert.False(other.IsDisposed);
        other.Dispose();
    }
}
