using LoraGrains.Torch.Native;

namespace LoraGrains.Torch;

// Elementwise, reduction and shape operations, named as in PyTorch.
public sealed unsafe partial class Tensor
{
    private Tensor Unary(UnaryOp op) => Wrap(NativeMethods.lg_unary((int)op, Handle, out var r), r);

    private Tensor UnaryInPlace(UnaryOp op)
    {
        Status.Check(NativeMethods.lg_unary_((int)op, Handle));
        return this;
    }

    private Tensor Binary(BinaryOp op, Tensor other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Wrap(NativeMethods.lg_binary((int)op, Handle, other.Handle, out var r), r);
    }

    private Tensor BinaryInPlace(BinaryOp op, Tensor other)
    {
        ArgumentNullException.ThrowIfNull(other);
        Status.Check(NativeMethods.lg_binary_((int)op, Handle, other.Handle));
        return this;
    }

    private Tensor Scalar(BinaryOp op, double s) => Wrap(NativeMethods.lg_binary_scalar((int)op, Handle, s, out var r), r);

    private Tensor ScalarInPlace(BinaryOp op, double s)
    {
        Status.Check(NativeMethods.lg_binary_scalar_((int)op, Handle, s));
        return this;
    }

    // ---- elementwise ------------------------------------------------------------------------

    /// <summary>−x.</summary>
    public Tensor Neg() => Unary(UnaryOp.Neg);
    /// <summary>eˣ.</summary>
    public Tensor Exp() => Unary(UnaryOp.Exp);
    /// <summary>Natural logarithm.</summary>
    public Tensor Log() => Unary(UnaryOp.Log);
    /// <summary>Square root.</summary>
    public Tensor Sqrt() => Unary(UnaryOp.Sqrt);
    /// <summary>1/√x.</summary>
    public Tensor Rsqrt() => Unary(UnaryOp.Rsqrt);
    /// <summary>Sine.</summary>
    public Tensor Sin() => Unary(UnaryOp.Sin);
    /// <summary>Cosine.</summary>
    public Tensor Cos() => Unary(UnaryOp.Cos);
    /// <summary>|x|.</summary>
    public Tensor Abs() => Unary(UnaryOp.Abs);
    /// <summary>Logistic sigmoid.</summary>
    public Tensor Sigmoid() => Unary(UnaryOp.Sigmoid);
    /// <summary>Hyperbolic tangent.</summary>
    public Tensor Tanh() => Unary(UnaryOp.Tanh);
    /// <summary>max(x, 0).</summary>
    public Tensor Relu() => Unary(UnaryOp.Relu);
    /// <summary>x·sigmoid(x).</summary>
    public Tensor Silu() => Unary(UnaryOp.Silu);
    /// <summary>In-place x·sigmoid(x).</summary>
    public Tensor SiluInPlace() => UnaryInPlace(UnaryOp.Silu);
    /// <summary>GELU, exact (erf) or with the tanh approximation.</summary>
    public Tensor Gelu(bool tanhApproximation = false) => Unary(tanhApproximation ? UnaryOp.GeluTanh : UnaryOp.Gelu);
    /// <summary>x·sigmoid(1.702x), CLIP's activation.</summary>
    public Tensor QuickGelu() => Unary(UnaryOp.QuickGelu);
    /// <summary>x².</summary>
    public Tensor Square() => Unary(UnaryOp.Square);
    /// <summary>⌊x⌋.</summary>
    public Tensor Floor() => Unary(UnaryOp.Floor);
    /// <summary>Round half to even.</summary>
    public Tensor Round() => Unary(UnaryOp.Round);
    /// <summary>1/x.</summary>
    public Tensor Reciprocal() => Unary(UnaryOp.Reciprocal);
    /// <summary>Boolean tensor: element is neither NaN nor ±Inf.</summary>
    public Tensor IsFinite() => Unary(UnaryOp.IsFinite);
    /// <summary>Boolean not.</summary>
    public Tensor LogicalNot() => Unary(UnaryOp.LogicalNot);
    /// <summary>A contiguous tensor with the same values (this data when already contiguous).</summary>
    public Tensor Contiguous() => Unary(UnaryOp.Contiguous);
    /// <summary>A copy with its own storage.</summary>
    public Tensor Clone() => Unary(UnaryOp.Clone);
    /// <summary>Contiguous in the channels-last (NHWC) memory format; same logical shape.</summary>
    public Tensor ToChannelsLast() => Wrap(NativeMethods.lg_contiguous_format(Handle, 1, out var r), r);

    /// <summary>xᵖ.</summary>
    public Tensor Pow(double exponent) => Scalar(BinaryOp.Pow, exponent);
    /// <summary>Elementwise xʸ.</summary>
    public Tensor Pow(Tensor exponent) => Binary(BinaryOp.Pow, exponent);
    /// <summary>Elementwise maximum.</summary>
    public Tensor Maximum(Tensor other) => Binary(BinaryOp.Maximum, other);
    /// <summary>Elementwise minimum.</summary>
    public Tensor Minimum(Tensor other) => Binary(BinaryOp.Minimum, other);
    /// <summary>Clamps into [min, max]; either bound may be absent.</summary>
    public Tensor Clamp(double? min = null, double? max = null) =>
        Wrap(NativeMethods.lg_clamp(Handle, min.HasValue ? 1 : 0, min ?? 0, max.HasValue ? 1 : 0, max ?? 0, out var r), r);

    /// <summary>In-place clamp.</summary>
    public Tensor ClampInPlace(double? min = null, double? max = null)
    {
        Status.Check(NativeMethods.lg_clamp_(Handle, min.HasValue ? 1 : 0, min ?? 0, max.HasValue ? 1 : 0, max ?? 0));
        return this;
    }

    /// <summary>Elementwise ==.</summary>
    public Tensor Eq(Tensor other) => Binary(BinaryOp.Eq, other);
    /// <summary>Elementwise == scalar.</summary>
    public Tensor Eq(double other) => Scalar(BinaryOp.Eq, other);
    /// <summary>Elementwise &lt;.</summary>
    public Tensor Lt(Tensor other) => Binary(BinaryOp.Lt, other);
    /// <summary>Elementwise &lt; scalar.</summary>
    public Tensor Lt(double other) => Scalar(BinaryOp.Lt, other);
    /// <summary>Elementwise &gt;.</summary>
    public Tensor Gt(Tensor other) => Binary(BinaryOp.Gt, other);
    /// <summary>Elementwise &gt; scalar.</summary>
    public Tensor Gt(double other) => Scalar(BinaryOp.Gt, other);
    /// <summary>Elementwise &gt;= scalar.</summary>
    public Tensor Ge(double other) => Scalar(BinaryOp.Ge, other);
    /// <summary>Elementwise &lt;= scalar.</summary>
    public Tensor Le(double other) => Scalar(BinaryOp.Le, other);
    /// <summary>Boolean and.</summary>
    public Tensor LogicalAnd(Tensor other) => Binary(BinaryOp.LogicalAnd, other);
    /// <summary>Boolean or.</summary>
    public Tensor LogicalOr(Tensor other) => Binary(BinaryOp.LogicalOr, other);

    /// <summary>this + alpha·other (torch.add with alpha).</summary>
    public Tensor Add(Tensor other, double alpha = 1.0)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Wrap(NativeMethods.lg_add_scaled(Handle, other.Handle, alpha, out var r), r);
    }

    /// <summary>In place: this += alpha·other.</summary>
    public Tensor AddInPlace(Tensor other, double alpha = 1.0)
    {
        ArgumentNullException.ThrowIfNull(other);
        Status.Check(NativeMethods.lg_add_scaled_(Handle, other.Handle, alpha));
        return this;
    }

    /// <summary>In place: this += s.</summary>
    public Tensor AddInPlace(double s) => ScalarInPlace(BinaryOp.Add, s);
    /// <summary>In place: this −= other.</summary>
    public Tensor SubInPlace(Tensor other) => BinaryInPlace(BinaryOp.Sub, other);
    /// <summary>In place: this −= s.</summary>
    public Tensor SubInPlace(double s) => ScalarInPlace(BinaryOp.Sub, s);
    /// <summary>In place: this ·= other.</summary>
    public Tensor MulInPlace(Tensor other) => BinaryInPlace(BinaryOp.Mul, other);
    /// <summary>In place: this ·= s.</summary>
    public Tensor MulInPlace(double s) => ScalarInPlace(BinaryOp.Mul, s);
    /// <summary>In place: this /= other.</summary>
    public Tensor DivInPlace(Tensor other) => BinaryInPlace(BinaryOp.Div, other);
    /// <summary>In place: this /= s.</summary>
    public Tensor DivInPlace(double s) => ScalarInPlace(BinaryOp.Div, s);

    /// <summary>Fills with <paramref name="value"/> in place.</summary>
    public Tensor Fill(double value)
    {
        Status.Check(NativeMethods.lg_fill_(Handle, value));
        return this;
    }

    /// <summary>Copies <paramref name="source"/> (broadcast, converted) into this tensor in place (copy_).</summary>
    public Tensor CopyFrom(Tensor source)
    {
        ArgumentNullException.ThrowIfNull(source);
        Status.Check(NativeMethods.lg_copy_(Handle, source.Handle));
        return this;
    }

    /// <summary>Elements where <paramref name="mask"/> is true replaced by <paramref name="value"/>.</summary>
    public Tensor MaskedFill(Tensor mask, double value)
    {
        ArgumentNullException.ThrowIfNull(mask);
        return Wrap(NativeMethods.lg_masked_fill(Handle, mask.Handle, value, out var r), r);
    }

    /// <summary>Upper triangle (elements below the given diagonal zeroed).</summary>
    public Tensor Triu(long diagonal = 0) => Wrap(NativeMethods.lg_triu(Handle, diagonal, out var r), r);

    // ---- operators --------------------------------------------------------------------------

    /// <summary>Elementwise sum with broadcasting.</summary>
    public static Tensor operator +(Tensor a, Tensor b) => a.Binary(BinaryOp.Add, b);
    /// <summary>Elementwise difference with broadcasting.</summary>
    public static Tensor operator -(Tensor a, Tensor b) => a.Binary(BinaryOp.Sub, b);
    /// <summary>Elementwise product with broadcasting.</summary>
    public static Tensor operator *(Tensor a, Tensor b) => a.Binary(BinaryOp.Mul, b);
    /// <summary>Elementwise quotient with broadcasting.</summary>
    public static Tensor operator /(Tensor a, Tensor b) => a.Binary(BinaryOp.Div, b);
    /// <summary>Adds a scalar.</summary>
    public static Tensor operator +(Tensor a, double s) => a.Scalar(BinaryOp.Add, s);
    /// <summary>Adds a scalar.</summary>
    public static Tensor operator +(double s, Tensor a) => a.Scalar(BinaryOp.Add, s);
    /// <summary>Subtracts a scalar.</summary>
    public static Tensor operator -(Tensor a, double s) => a.Scalar(BinaryOp.Sub, s);
    /// <summary>Scalar minus tensor.</summary>
    public static Tensor operator -(double s, Tensor a) => a.Scalar(BinaryOp.RSub, s);
    /// <summary>Multiplies by a scalar.</summary>
    public static Tensor operator *(Tensor a, double s) => a.Scalar(BinaryOp.Mul, s);
    /// <summary>Multiplies by a scalar.</summary>
    public static Tensor operator *(double s, Tensor a) => a.Scalar(BinaryOp.Mul, s);
    /// <summary>Divides by a scalar.</summary>
    public static Tensor operator /(Tensor a, double s) => a.Scalar(BinaryOp.Div, s);
    /// <summary>Scalar divided by tensor.</summary>
    public static Tensor operator /(double s, Tensor a) => a.Scalar(BinaryOp.RDiv, s);
    /// <summary>Negation.</summary>
    public static Tensor operator -(Tensor a) => a.Neg();

    // ---- reductions -------------------------------------------------------------------------

    private Tensor Reduce(ReduceOp op, long[] dims, bool keepDim, bool unbiased = false)
    {
        fixed (long* d = dims)
        {
            return Wrap(NativeMethods.lg_reduce((int)op, Handle, d, dims.Length, keepDim ? 1 : 0, unbiased ? 1 : 0, out var r), r);
        }
    }

    /// <summary>Sum of all elements.</summary>
    public Tensor Sum() => Reduce(ReduceOp.Sum, [], false);
    /// <summary>Sum over <paramref name="dims"/>.</summary>
    public Tensor Sum(long[] dims, bool keepDim = false) => Reduce(ReduceOp.Sum, dims, keepDim);
    /// <summary>Mean of all elements.</summary>
    public Tensor Mean() => Reduce(ReduceOp.Mean, [], false);
    /// <summary>Mean over <paramref name="dims"/>.</summary>
    public Tensor Mean(long[] dims, bool keepDim = false) => Reduce(ReduceOp.Mean, dims, keepDim);
    /// <summary>Maximum of all elements.</summary>
    public Tensor Max() => Reduce(ReduceOp.Amax, [], false);
    /// <summary>Maximum over <paramref name="dims"/>.</summary>
    public Tensor Amax(long[] dims, bool keepDim = false) => Reduce(ReduceOp.Amax, dims, keepDim);
    /// <summary>Minimum of all elements.</summary>
    public Tensor Min() => Reduce(ReduceOp.Amin, [], false);
    /// <summary>Minimum over <paramref name="dims"/>.</summary>
    public Tensor Amin(long[] dims, bool keepDim = false) => Reduce(ReduceOp.Amin, dims, keepDim);
    /// <summary>Variance of all elements (unbiased by default, as torch.var).</summary>
    public Tensor Var(bool unbiased = true) => Reduce(ReduceOp.Var, [], false, unbiased);
    /// <summary>Variance over <paramref name="dims"/>.</summary>
    public Tensor Var(long[] dims, bool unbiased = true, bool keepDim = false) => Reduce(ReduceOp.Var, dims, keepDim, unbiased);
    /// <summary>Standard deviation of all elements (unbiased by default).</summary>
    public Tensor Std(bool unbiased = true) => Reduce(ReduceOp.Std, [], false, unbiased);
    /// <summary>Standard deviation over <paramref name="dims"/>.</summary>
    public Tensor Std(long[] dims, bool unbiased = true, bool keepDim = false) => Reduce(ReduceOp.Std, dims, keepDim, unbiased);

    /// <summary>Index of the maximum of the flattened tensor.</summary>
    public Tensor ArgMax() => Wrap(NativeMethods.lg_argmax(Handle, 0, 0, 0, out var r), r);
    /// <summary>Indices of the maxima along <paramref name="dim"/>.</summary>
    public Tensor ArgMax(long dim, bool keepDim = false) => Wrap(NativeMethods.lg_argmax(Handle, dim, 1, keepDim ? 1 : 0, out var r), r);

    // ---- linear algebra ---------------------------------------------------------------------

    /// <summary>Matrix product with broadcasting (torch.matmul).</summary>
    public Tensor MatMul(Tensor other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Wrap(NativeMethods.lg_matmul(Handle, other.Handle, out var r), r);
    }

    /// <summary>
    /// In place: this += alpha·(input·weightᵀ), i.e. adds a bias-free linear layer's output without allocating it
    /// (addmm_ over the last dimension; this tensor must be contiguous).
    /// </summary>
    public Tensor AddLinearInPlace(Tensor input, Tensor weight, double alpha = 1.0)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        Status.Check(NativeMethods.lg_add_linear_(Handle, input.Handle, weight.Handle, alpha));
        return this;
    }

    /// <summary>Batched matrix product of 3-D tensors.</summary>
    public Tensor Bmm(Tensor other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Wrap(NativeMethods.lg_bmm(Handle, other.Handle, out var r), r);
    }

    // ---- shape and indexing -----------------------------------------------------------------

    /// <summary>Same data with a new shape (a view when possible); one dimension may be −1.</summary>
    public Tensor Reshape(params long[] newShape)
    {
        fixed (long* s = newShape)
        {
            return Wrap(NativeMethods.lg_reshape(Handle, s, newShape.Length, out var r), r);
        }
    }

    /// <summary>A view with a new shape (fails when the strides do not allow it).</summary>
    public Tensor View(params long[] newShape)
    {
        fixed (long* s = newShape)
        {
            return Wrap(NativeMethods.lg_view(Handle, s, newShape.Length, out var r), r);
        }
    }

    /// <summary>A view with the dimensions reordered.</summary>
    public Tensor Permute(params long[] dims)
    {
        fixed (long* s = dims)
        {
            return Wrap(NativeMethods.lg_permute(Handle, s, dims.Length, out var r), r);
        }
    }

    /// <summary>A view with two dimensions swapped.</summary>
    public Tensor Transpose(long dim0, long dim1) => Wrap(NativeMethods.lg_transpose(Handle, dim0, dim1, out var r), r);

    /// <summary>A view with a size-1 dimension inserted at <paramref name="dim"/>.</summary>
    public Tensor Unsqueeze(long dim) => Wrap(NativeMethods.lg_unsqueeze(Handle, dim, out var r), r);

    /// <summary>A view with the size-1 dimension <paramref name="dim"/> removed.</summary>
    public Tensor Squeeze(long dim) => Wrap(NativeMethods.lg_squeeze(Handle, dim, out var r), r);

    /// <summary>A broadcast view to <paramref name="newShape"/> (−1 keeps a dimension).</summary>
    public Tensor Expand(params long[] newShape)
    {
        fixed (long* s = newShape)
        {
            return Wrap(NativeMethods.lg_expand(Handle, s, newShape.Length, out var r), r);
        }
    }

    /// <summary>Flattens dimensions <paramref name="startDim"/>..<paramref name="endDim"/> into one.</summary>
    public Tensor Flatten(long startDim = 0, long endDim = -1) => Wrap(NativeMethods.lg_flatten(Handle, startDim, endDim, out var r), r);

    /// <summary>A view of <c>[start:end:step]</c> along <paramref name="dim"/> (negative indices count from the end).</summary>
    public Tensor Slice(long dim, long start, long end, long step = 1) =>
        Wrap(NativeMethods.lg_slice(Handle, dim, start, end, step, out var r), r);

    /// <summary>
    /// A view of <paramref name="length"/> elements from <paramref name="start"/> along <paramref name="dim"/>
    /// (negative start counts from the end; a range past the end is an error, as torch.narrow).
    /// </summary>
    public Tensor Narrow(long dim, long start, long length) => Wrap(NativeMethods.lg_narrow(Handle, dim, start, length, out var r), r);

    /// <summary>A view of index <paramref name="index"/> along <paramref name="dim"/>, that dimension removed.</summary>
    public Tensor Select(long dim, long index) => Wrap(NativeMethods.lg_select(Handle, dim, index, out var r), r);

    /// <summary>The entries at the positions of the 1-D int64 <paramref name="index"/> along <paramref name="dim"/>.</summary>
    public Tensor IndexSelect(long dim, Tensor index)
    {
        ArgumentNullException.ThrowIfNull(index);
        return Wrap(NativeMethods.lg_index_select(Handle, dim, index.Handle, out var r), r);
    }

    /// <summary>Splits into <paramref name="chunks"/> views along <paramref name="dim"/> (the last may be smaller).</summary>
    public Tensor[] Chunk(int chunks, long dim = 0)
    {
        if (chunks < 1) throw new ArgumentOutOfRangeException(nameof(chunks), chunks, "must be >= 1");
        var outs = new nint[chunks];
        int n;
        fixed (nint* o = outs)
        {
            Status.Check(NativeMethods.lg_chunk(Handle, chunks, dim, o, chunks, out n));
        }

        var result = new Tensor[n];
        for (var i = 0; i < n; i++) result[i] = new Tensor(outs[i]);
        return result;
    }

    /// <summary>Splits into views of the given sizes along <paramref name="dim"/>.</summary>
    public Tensor[] Split(long[] sizes, long dim = 0)
    {
        ArgumentNullException.ThrowIfNull(sizes);
        var outs = new nint[sizes.Length];
        fixed (long* s = sizes)
        fixed (nint* o = outs)
        {
            Status.Check(NativeMethods.lg_split(Handle, s, sizes.Length, dim, o));
        }

        var result = new Tensor[sizes.Length];
        for (var i = 0; i < sizes.Length; i++) result[i] = new Tensor(outs[i]);
        return result;
    }

    /// <summary>Each element repeated <paramref name="repeats"/> times along <paramref name="dim"/>.</summary>
    public Tensor RepeatInterleave(long repeats, long dim) => Wrap(NativeMethods.lg_repeat_interleave(Handle, repeats, dim, out var r), r);
}
