namespace LoraGrains.Torch.Tests;

/// <summary>Shape, view and indexing ops; expected values follow from row-major index arithmetic on arange.</summary>
public sealed class ShapeTests
{
    [Fact]
    public void Reshape_and_View_keep_row_major_order()
    {
        using var scope = TensorScope.Enter();
        var x = Ref.Arange(24);
        var r = x.Reshape(2, 3, 4);
        Assert.Equal([2L, 3, 4], r.Shape);
        Assert.Equal(3, r.Dim);
        Assert.Equal(24, r.NumEl);
        Assert.Equal(4, r.Size(-1));
        Assert.Equal(x.ToArray<float>(), r.ToArray<float>());
        Assert.Equal([4L, 6], x.Reshape(-1, 6).Shape);
        var v = x.View(6, 4);
        Assert.Equal([6L, 4], v.Shape);
        // A view shares storage: writing through it changes the base.
        v.Select(0, 0).Fill(-1);
        Assert.Equal([-1f, -1, -1, -1, 4], x.ToArray<float>()[..5]);
    }

    [Fact]
    public void Permute_Transpose_Contiguous()
    {
        using var scope = TensorScope.Enter();
        var x = Ref.Arange(2, 3, 4);             // x[i,j,k] = 12i + 4j + k
        var p = x.Permute(2, 0, 1);               // p[k,i,j] = x[i,j,k]
        Assert.Equal([4L, 2, 3], p.Shape);
        Assert.False(p.IsContiguous);
        var expected = new float[24];
        for (var k = 0; k < 4; k++)
        {
            for (var i = 0; i < 2; i++)
            {
                for (var j = 0; j < 3; j++) expected[(k * 6) + (i * 3) + j] = (12 * i) + (4 * j) + k;
            }
        }

        Assert.Equal(expected, p.ToArray<float>());
        var c = p.Contiguous();
        Assert.True(c.IsContiguous);
        Assert.Equal(expected, c.ToArray<float>());
        Assert.NotEqual(p.DataPointer, c.DataPointer);

        var t = x.Transpose(0, 2);                // t[k,j,i] = x[i,j,k]
        Assert.Equal([4L, 3, 2], t.Shape);
        Assert.Equal(13f, t.Select(0, 1).Select(0, 0).Select(0, 1).Item()); // x[1,0,1] = 12 + 0 + 1
        // Reshape of a non-contiguous view copies; View refuses (checked in ErrorTests).
        Assert.Equal(expected, p.Reshape(24).ToArray<float>());
    }

    [Fact]
    public void Unsqueeze_Squeeze_Expand_Flatten_RepeatInterleave()
    {
        using var scope = TensorScope.Enter();
        var x = Ref.F([1, 2, 3], 3);
        var u = x.Unsqueeze(0);
        Assert.Equal([1L, 3], u.Shape);
        Assert.Equal([3L, 1], x.Unsqueeze(-1).Shape);
        Assert.Equal([3L], u.Squeeze(0).Shape);
        var e = x.Unsqueeze(-1).Expand(-1, 2);
        Assert.Equal([1f, 1, 2, 2, 3, 3], e.ToArray<float>());
        Assert.Equal([6L], Ref.Arange(2, 3).Flatten().Shape);
        Assert.Equal([2L, 12], Ref.Arange(2, 3, 4).Flatten(1).Shape);
        Assert.Equal([1f, 1, 2, 2, 3, 3], x.RepeatInterleave(2, 0).ToArray<float>());
    }

    [Fact]
    public void Slice_Narrow_Select_IndexSelect()
    {
        using var scope = TensorScope.Enter();
        var x = Ref.Arange(4, 5);                 // x[i,j] = 5i + j
        Assert.Equal([5f, 6, 7, 10, 11, 12], x.Slice(0, 1, 3).Slice(1, 0, 3).ToArray<float>());
        Assert.Equal([0f, 2, 4], x.Select(0, 0).Slice(0, 0, 5, 2).ToArray<float>());
        // Negative start counts from the end; an end past the size is clamped, as Python slicing.
        Assert.Equal([15f, 16, 17, 18, 19], x.Slice(0, -1, long.MaxValue).ToArray<float>());
        Assert.Equal([3f, 4, 8, 9, 13, 14, 18, 19], x.Narrow(1, 3, 2).ToArray<float>());
        // torch.narrow with a negative start: the last two columns.
        Assert.Equal([3f, 4, 8, 9, 13, 14, 18, 19], x.Narrow(1, -2, 2).ToArray<float>());
        Assert.Equal([4f, 9, 14, 19], x.Select(1, -1).ToArray<float>());
        Assert.Equal([1L], x.Narrow(0, 2, 1).Shape[..1]);
        var idx = Tensor.FromArray(new long[] { 3, 0, 3 }, 3);
        Assert.Equal([15f, 16, 17, 18, 19, 0, 1, 2, 3, 4, 15, 16, 17, 18, 19], x.IndexSelect(0, idx).ToArray<float>());
        Assert.Equal([3f, 0, 3], x.IndexSelect(1, idx).Select(0, 0).ToArray<float>());
    }

    [Fact]
    public void Cat_Stack_Chunk_Split()
    {
        using var scope = TensorScope.Enter();
        var a = Ref.F([1, 2, 3, 4], 2, 2);
        var b = Ref.F([5, 6], 1, 2);
        Ref.Exact([1, 2, 3, 4, 5, 6], [3, 2], Torch.Cat([a, b], 0));
        Ref.Exact([1, 2, 5, 3, 4, 6], [2, 3], Torch.Cat([a, b.Reshape(2, 1)], 1));
        var c = Ref.F([7, 8, 9, 10], 2, 2);
        Ref.Exact([1, 2, 3, 4, 7, 8, 9, 10], [2, 2, 2], Torch.Stack([a, c], 0));
        Ref.Exact([1, 7, 2, 8, 3, 9, 4, 10], [2, 2, 2], Torch.Stack([a, c], -1));

        var seven = Ref.Arange(7);
        var chunks = seven.Chunk(3);              // torch.chunk: size ceil(7/3) = 3, so 3, 3, 1
        Assert.Equal([3L, 3, 1], chunks.Select(t => t.Size(0)));
        Assert.Equal([6f], chunks[2].ToArray<float>());
        // torch.chunk(arange(6), 4) gives chunks of ceil(6/4) = 2, so only 3 of them.
        Assert.Equal(3, Ref.Arange(6).Chunk(4).Length);
        var cols = Ref.Arange(2, 4).Chunk(2, 1);
        Assert.Equal([0f, 1, 4, 5], cols[0].ToArray<float>());
        Assert.Equal([2f, 3, 6, 7], cols[1].ToArray<float>());

        var parts = seven.Split([2, 4, 1]);
        Assert.Equal([0f, 1], parts[0].ToArray<float>());
        Assert.Equal([2f, 3, 4, 5], parts[1].ToArray<float>());
        Assert.Equal([6f], parts[2].ToArray<float>());
        var rows = Ref.Arange(3, 2).Split([1, 2], 0);
        Assert.Equal([2L, 2], rows[1].Shape);
    }

    [Fact]
    public unsafe void ChannelsLast_keeps_values_and_changes_the_layout()
    {
        using var scope = TensorScope.Enter();
        const int N = 1, C = 2, H = 2, W = 3;
        var x = Ref.Arange(N, C, H, W);           // x[0,c,h,w] = 6c + 3h + w
        var cl = x.ToChannelsLast();
        Assert.Equal(x.Shape, cl.Shape);
        Assert.True(cl.ContentEquals(x));
        Assert.Equal(x.ToArray<float>(), cl.ToArray<float>());
        Assert.False(cl.IsContiguous);
        // In memory the channel varies fastest: element (c,h,w) sits at (h·W + w)·C + c.
        var mem = new ReadOnlySpan<float>((void*)cl.DataPointer, N * C * H * W);
        for (var c = 0; c < C; c++)
        {
            for (var h = 0; h < H; h++)
            {
                for (var w = 0; w < W; w++) Assert.Equal((6 * c) + (3 * h) + w, mem[(((h * W) + w) * C) + c]);
            }
        }

        // A convolution gives the same numbers in either layout.
        var k = Ref.Seq([3, 2, 3, 3], 7);
        var expected = Functional.Conv2d(x, k, padding: 1).ToArray<float>();
        Ref.Close(expected, Functional.Conv2d(cl, k.ToChannelsLast(), padding: 1).ToArray<float>(), atol: 1e-5);
    }
}
