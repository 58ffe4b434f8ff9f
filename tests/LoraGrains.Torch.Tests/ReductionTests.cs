namespace LoraGrains.Torch.Tests;

/// <summary>Reductions on x = Ref.Seq([2,3,4], 5); "PyTorch" numbers from Reference/reference_values.py (float64).</summary>
public sealed class ReductionTests
{
    [Fact]
    public void Reductions_over_all_elements()
    {
        using var scope = TensorScope.Enter();
        var x = Ref.Seq([2, 3, 4], 5);
        var s = x.Sum();
        Assert.Empty(s.Shape);
        // PyTorch: sum 0.5, mean 0.0208333333, var 1.58650362, var(unbiased=False) 1.52039931, std 1.25956485
        Assert.Equal(0.5, s.Item(), 6);
        Assert.Equal(0.0208333333, x.Mean().Item(), 6);
        Assert.Equal(1.58650362, x.Var().Item(), 5);
        Assert.Equal(1.52039931, x.Var(unbiased: false).Item(), 5);
        Assert.Equal(1.25956485, x.Std().Item(), 5);
        Assert.Equal(Math.Sqrt(1.52039931), x.Std(unbiased: false).Item(), 5);
        Assert.Equal(2.0, x.Max().Item());
        Assert.Equal(-2.0, x.Min().Item());
    }

    [Fact]
    public void Reductions_over_dims_with_and_without_keepdim()
    {
        using var scope = TensorScope.Enter();
        var x = Ref.Seq([2, 3, 4], 5);
        // PyTorch: x.sum(1)
        Ref.Close([-1.5f, 2.25f, 1.75f, -3f, 1f, -3.75f, 0f, 3.75f], [2, 4], x.Sum([1]));
        // PyTorch: x.sum((0,2), keepdim=True)
        Ref.Close([-3f, 3f, 0.5f], [1, 3, 1], x.Sum([0, 2], keepDim: true));
        // PyTorch: x.mean(-1)
        Ref.Close([-0.4375f, 0.3125f, 0f, -0.3125f, 0.4375f, 0.125f], [2, 3], x.Mean([-1]));
        Ref.Close([-0.4375f, 0.3125f, 0f, -0.3125f, 0.4375f, 0.125f], [2, 3, 1], x.Mean([-1], keepDim: true));
        // PyTorch: x.var(1)
        Ref.Close([0.5625f, 0.5625f, 3.39583333f, 0.5625f, 3.39583333f, 0.5625f, 0.5625f, 0.5625f], [2, 4], x.Var([1]));
        // PyTorch: x.var(2, unbiased=False, keepdim=True)
        Ref.Close([1.35546875f, 1.35546875f, 1.15625f, 1.35546875f, 1.35546875f, 1.953125f], [2, 3, 1], x.Var([2], unbiased: false, keepDim: true));
        // PyTorch: x.std((0,1))
        Ref.Close([1.33853153f, 1.28452326f, 1.29823598f, 1.40312152f], [4], x.Std([0, 1]));
        // By hand: amax/amin of [[1,5],[3,2]] over rows.
        var m = Ref.F([1, 5, 3, 2], 2, 2);
        Ref.Exact([5, 3], [2], m.Amax([1]));
        Ref.Exact([1, 2], [1, 2], m.Amin([0], keepDim: true));
    }

    [Fact]
    public void Var_and_std_by_hand()
    {
        using var scope = TensorScope.Enter();
        // [2,4,4,4,5,5,7,9]: mean 5, squared deviations sum to 32, so biased var 4, unbiased 32/7.
        var t = Ref.F([2, 4, 4, 4, 5, 5, 7, 9], 8);
        Assert.Equal(4.0, t.Var(unbiased: false).Item(), 6);
        Assert.Equal(32.0 / 7, t.Var().Item(), 6);
        Assert.Equal(2.0, t.Std(unbiased: false).Item(), 6);
    }
}
