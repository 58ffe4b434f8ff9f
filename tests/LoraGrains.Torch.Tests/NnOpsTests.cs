namespace LoraGrains.Torch.Tests;

/// <summary>
/// Functional ops against independent numbers. Arrays marked "PyTorch" were printed by
/// Reference/reference_values.py (/usr/bin/python3, PyTorch 1.13, float64 on the same Ref.Seq inputs);
/// the others are worked out by hand in the comments.
/// </summary>
public sealed class NnOpsTests
{
    [Fact]
    public void Conv2d_by_hand_ones_kernel_with_padding_and_bias()
    {
        using var scope = TensorScope.Enter();
        using var x = Torch.Ones([1, 1, 3, 3]);
        using var w = Torch.Ones([1, 1, 2, 2]);
        using var b = Ref.F([0.5f], 1);
        // Without padding every 2x2 window of ones sums to 4.
        Ref.Exact([4.5f, 4.5f, 4.5f, 4.5f], [1, 1, 2, 2], Functional.Conv2d(x, w, b));
        // Padding 1: corner windows see one input, edge windows two, inner windows four.
        Ref.Exact(
            [1.5f, 2.5f, 2.5f, 1.5f, 2.5f, 4.5f, 4.5f, 2.5f, 2.5f, 4.5f, 4.5f, 2.5f, 1.5f, 2.5f, 2.5f, 1.5f],
            [1, 1, 4, 4],
            Functional.Conv2d(x, w, b, padding: 1));
    }

    [Fact]
    public void Conv2d_stride1_padding1_bias_matches_pytorch()
    {
        using var scope = TensorScope.Enter();
        var y = Functional.Conv2d(Ref.Seq([1, 2, 5, 5], 5), Ref.Seq([3, 2, 3, 3], 7), Ref.Seq([3], 11), stride: 1, padding: 1);
        // PyTorch: F.conv2d(seq((1,2,5,5),5), seq((3,2,3,3),7), seq((3,),11), stride=1, padding=1)
        Ref.Close(
            [-2.9375f, -8.6875f, 1.3125f, 2.8125f, -5.8125f, -2.375f, 6.3125f, 4.75f, -4.25f, -0.25f, -0.75f, -11.0625f, -2f, -0.375f, -1.3125f, -1.25f, 0.25f, 5.0625f, -11.375f, 2.9375f, -7.1875f, 1.5625f, -8.75f, 3.25f, 2.375f, 8.125f, 0f, -7.3125f, 5.5625f, 4.625f, -0.6875f, 2.1875f, 1.75f, 4.5f, 1.5625f, -0.625f, 1.0625f, -6.8125f, 6.5625f, -1.0625f, 7.9375f, 3.125f, 9.0625f, 4.375f, -5.8125f, 3.9375f, -2.9375f, 0.25f, 0.25f, 1.1875f, 1.125f, 2.3125f, 3.1875f, -1.25f, 0.1875f, -7.5f, 4.4375f, -0.1875f, -9.0625f, 6.5625f, 9.0625f, -7f, -1f, 0.75f, 2.375f, -9.4375f, 13.4375f, -2.875f, -1.125f, 6.6875f, 0.1875f, -3.1875f, -4.5625f, 1.5f, -1.0625f],
            [1, 3, 5, 5],
            y);
    }

    [Fact]
    public void Conv2d_stride2_groups2_no_bias_matches_pytorch()
    {
        using var scope = TensorScope.Enter();
        var y = Functional.Conv2d(Ref.Seq([1, 4, 5, 5], 5), Ref.Seq([4, 2, 3, 3], 13), null, stride: 2, padding: 1, groups: 2);
        // PyTorch: F.conv2d(seq((1,4,5,5),5), seq((4,2,3,3),13), None, stride=2, padding=1, groups=2)
        Ref.Close(
            [3.625f, 2.5f, 1.4375f, 3.875f, 2f, -0.5625f, 10.125f, -5.375f, -1.75f, 1f, -5.875f, 4.9375f, -4.1875f, -4f, 10.125f, 5.1875f, -3.9375f, 4.75f, 3.0625f, 0.6875f, -4.3125f, 7.875f, -4.875f, -5.9375f, -3.8125f, 6.75f, -4.9375f, 1.9375f, -4.375f, 4.9375f, -4.3125f, 6.3125f, 0.625f, 4.4375f, 0.875f, -2.25f],
            [1, 4, 3, 3],
            y);
    }

    [Fact]
    public void Conv2d_per_axis_stride_padding_dilation_matches_pytorch()
    {
        using var scope = TensorScope.Enter();
        var y = Functional.Conv2d(Ref.Seq([1, 1, 4, 5], 5), Ref.Seq([2, 1, 2, 2], 7), null, stride: (2, 1), padding: (0, 1), dilation: (1, 2));
        // PyTorch: F.conv2d(seq((1,1,4,5),5), seq((2,1,2,2),7), stride=(2,1), padding=(0,1), dilation=(1,2))
        Ref.Close(
            [-0.5f, 0.9375f, -4.9375f, -0.1875f, 1.6875f, -0.5625f, 1.6875f, -4.1875f, 0.5625f, 2.5f, -3.5f, -0.8125f, 2.8125f, -1f, -2.4375f, -2.8125f, -0.6875f, 2.9375f, -0.875f, -3f],
            [1, 2, 2, 5],
            y);
    }

    [Fact]
    public void Linear_by_hand()
    {
        using var scope = TensorScope.Enter();
        var x = Ref.F([1, 2], 1, 2);
        var w = Ref.F([3, 4, 5, 6], 2, 2);
        // [1·3 + 2·4, 1·5 + 2·6] = [11, 17], plus bias [10, 20].
        Ref.Exact([11, 17], [1, 2], Functional.Linear(x, w));
        Ref.Exact([21, 37], [1, 2], Functional.Linear(x, w, Ref.F([10, 20], 2)));
    }

    [Fact]
    public void Linear_with_and_without_bias_matches_pytorch()
    {
        using var scope = TensorScope.Enter();
        var w = Ref.Seq([4, 3], 7);
        var b = Ref.Seq([4], 11);
        // PyTorch: F.linear(seq((2,3),5), seq((4,3),7), seq((4,),11)) and without the bias.
        Ref.Close([-2.1875f, 0.5625f, -0.9375f, -2.4375f, -0.8125f, 0.4375f, -0.4375f, -3.4375f], [2, 4], Functional.Linear(Ref.Seq([2, 3], 5), w, b));
        Ref.Close([-0.9375f, -0.9375f, -0.9375f, -0.9375f, 0.4375f, -1.0625f, -0.4375f, -1.9375f], [2, 4], Functional.Linear(Ref.Seq([2, 3], 5), w));
        // PyTorch: F.linear(seq((2,2,3),5), w, b): leading dimensions pass through.
        Ref.Close(
            [-2.1875f, 0.5625f, -0.9375f, -2.4375f, -0.8125f, 0.4375f, -0.4375f, -3.4375f, -4.75f, -0.75f, 3.25f, 3f, -3.375f, -0.875f, 3.75f, 2f],
            [2, 2, 4],
            Functional.Linear(Ref.Seq([2, 2, 3], 5), w, b));
    }

    [Fact]
    public void MatMul_Bmm_Baddbmm_match_pytorch()
    {
        using var scope = TensorScope.Enter();
        var a = Ref.Seq([2, 2, 3], 5);
        var b = Ref.Seq([2, 3, 2], 11);
        // By hand: [[1,2],[3,4]]·[[5,6],[7,8]] = [[19,22],[43,50]].
        Ref.Exact([19, 22, 43, 50], [2, 2], Ref.F([1, 2, 3, 4], 2, 2).MatMul(Ref.F([5, 6, 7, 8], 2, 2)));
        // PyTorch: seq((2,2,3),5) @ seq((3,2),7), the matrix broadcast over the batch.
        Ref.Close([3.4375f, -1.875f, 4.3125f, -1.5f, -0.125f, 1f, 0.75f, 1.375f], [2, 2, 2], a.MatMul(Ref.Seq([3, 2], 7)));
        // PyTorch: torch.bmm(seq((2,2,3),5), seq((2,3,2),11))
        Ref.Close([3.125f, -2.1875f, 3.125f, -2.0625f, -2.8125f, 3.8125f, -2.0625f, 4.6875f], [2, 2, 2], a.Bmm(b));
        // PyTorch: torch.baddbmm(seq((2,2,2),13), a, b, beta=0.5, alpha=2)
        Ref.Close([5.625f, -3.375f, 6.75f, -4.125f, -6.125f, 6.625f, -3.5f, 9.5f], [2, 2, 2], Functional.Baddbmm(Ref.Seq([2, 2, 2], 13), a, b, beta: 0.5, alpha: 2));
    }

    [Fact]
    public void GroupNorm_matches_pytorch()
    {
        using var scope = TensorScope.Enter();
        var x = Ref.Seq([2, 4, 3, 3], 5);
        // PyTorch: F.group_norm(seq((2,4,3,3),5), 2, seq((4,),7), seq((4,),11), 1e-5)
        Ref.Close(
            [-0.0445618582f, -1.32090813f, -2.59725439f, 0.465976649f, -0.810369619f, -2.08671589f, -3.36306215f, -0.299831112f, -1.57617738f, 2.14100946f, 0.915717042f, 1.42625555f, 1.93679406f, 0.711501639f, 1.22204015f, 1.73257865f, 2.24311716f, 1.01782474f, 9.32770622e-17f, -2.10041271f, 2.9405778f, 0.840165085f, -1.26024763f, -3.36066034f, 1.68033017f, -0.420082543f, -2.52049526f, -1.18493809f, -1.44748968f, -1.71004127f, -1.07991746f, -1.34246905f, -1.60502064f, -1.86757222f, -1.23744841f, -1.5f, -2.45543814f, 0.607792901f, -0.668553367f, -1.94489963f, -3.2212459f, -0.15801486f, -1.43436113f, -2.7107074f, 0.352523647f, 1.36952905f, 1.88006756f, 0.654775138f, 1.16531365f, 1.67585215f, 2.18639066f, 0.961098242f, 1.47163675f, 1.98217526f, 2.63195574f, 0.641400978f, -1.34915378f, -3.33970854f, 1.43762288f, -0.552931878f, -2.54348664f, 2.23384479f, 0.243290026f, -1.71840809f, -1.12124166f, -1.37006101f, -1.61888035f, -1.8676997f, -1.27053327f, -1.51935262f, -1.76817196f, -1.17100553f],
            [2, 4, 3, 3],
            Functional.GroupNorm(x, 2, Ref.Seq([4], 7), Ref.Seq([4], 11), 1e-5));
        // PyTorch: F.group_norm(x, 4, None, None, 1e-6)
        Ref.Close(
            [-1.0560334f, 0.0240007591f, 1.10403492f, -1.48804706f, -0.408012904f, 0.672021254f, 1.75205541f, -0.840026568f, 0.240007591f, 1.25260884f, -1.07983521f, -0.107983521f, 0.863868164f, -1.46857588f, -0.496724195f, 0.47512749f, 1.44697918f, -0.885464869f, -0.240007591f, 0.840026568f, -1.75205541f, -0.672021254f, 0.408012904f, 1.48804706f, -1.10403492f, -0.0240007591f, 1.0560334f, -1.0560334f, 0.0240007591f, 1.10403492f, -1.48804706f, -0.408012904f, 0.672021254f, 1.75205541f, -0.840026568f, 0.240007591f, 0.885464869f, -1.44697918f, -0.47512749f, 0.496724195f, 1.46857588f, -0.863868164f, 0.107983521f, 1.07983521f, -1.25260884f, -0.240007591f, 0.840026568f, -1.75205541f, -0.672021254f, 0.408012904f, 1.48804706f, -1.10403492f, -0.0240007591f, 1.0560334f, -1.3849332f, -0.363261166f, 0.658410863f, 1.68008289f, -0.771929978f, 0.249742052f, 1.27141408f, -1.18059879f, -0.15892676f, 0.885464869f, -1.44697918f, -0.47512749f, 0.496724195f, 1.46857588f, -0.863868164f, 0.107983521f, 1.07983521f, -1.25260884f],
            [2, 4, 3, 3],
            Functional.GroupNorm(x, 4, eps: 1e-6));
    }

    [Fact]
    public void GroupNorm_by_hand_two_values()
    {
        using var scope = TensorScope.Enter();
        // One group of [1, 3]: mean 2, biased variance 1, so (x − 2)/sqrt(1 + eps) ≈ ∓1; then ·2 + 0.5.
        var y = Functional.GroupNorm(Ref.F([1, 3], 1, 1, 2), 1, Ref.F([2], 1), Ref.F([0.5f], 1), eps: 0);
        Ref.Close([-1.5f, 2.5f], [1, 1, 2], y);
    }

    [Fact]
    public void LayerNorm_matches_pytorch()
    {
        using var scope = TensorScope.Enter();
        var x = Ref.Seq([2, 3, 4], 5);
        // PyTorch: F.layer_norm(seq((2,3,4),5), (4,), seq((4,),7), seq((4,),11), 1e-5)
        Ref.Close(
            [-0.377657511f, 1.68788915f, -2.89886119f, -1.21816627f, -0.377657511f, 1.68788915f, -2.89886119f, -1.21816627f, -1.54061784f, 2.19748282f, 2.78993127f, -1.44187643f, -2.65916864f, 0.775284702f, 0.751556606f, -1.6744685f, -2.65916864f, 0.775284702f, 0.751556606f, -1.6744685f, 0.42704669f, 1.27639377f, -0.894424901f, -1.83540934f],
            [2, 3, 4],
            Functional.LayerNorm(x, [4], Ref.Seq([4], 7), Ref.Seq([4], 11)));
        // PyTorch: F.layer_norm(x, (3,4), None, None, 1e-5)
        Ref.Close(
            [-1.02722899f, 0.0354216894f, 1.09807237f, -1.45228926f, -0.389638583f, 0.673012098f, 1.73566278f, -0.814698855f, 0.247951825f, 1.31060251f, -1.23975913f, -0.177108447f, 0.713772089f, -1.62220929f, -0.648883717f, 0.324441859f, 1.29776743f, -1.03821395f, -0.0648883717f, 0.908437204f, -1.42754418f, -0.454218602f, 0.519106974f, 1.49243255f],
            [2, 3, 4],
            Functional.LayerNorm(x, [3, 4]));
    }

    [Fact]
    public void Softmax_and_LogSoftmax_match_pytorch()
    {
        using var scope = TensorScope.Enter();
        var x = Ref.Seq([2, 5], 5);
        // PyTorch: F.softmax(seq((2,5),5), 1), F.softmax(x, 0), F.log_softmax(x, -1)
        Ref.Close([0.051556045f, 0.179948278f, 0.628081207f, 0.031270322f, 0.109144148f, 0.135361086f, 0.472456614f, 0.0235222297f, 0.0821006489f, 0.286559422f], [2, 5], Functional.Softmax(x, 1));
        Ref.Close([0.119202922f, 0.119202922f, 0.904650535f, 0.119202922f, 0.119202922f, 0.880797078f, 0.880797078f, 0.0953494649f, 0.880797078f, 0.880797078f], [2, 5], Functional.Softmax(x, 0));
        Ref.Close([-2.96508581f, -1.71508581f, -0.465085811f, -3.46508581f, -2.21508581f, -1.99980936f, -0.749809359f, -3.74980936f, -2.49980936f, -1.24980936f], [2, 5], Functional.LogSoftmax(x, -1));
        // By hand: softmax([0, ln 3]) = [1/4, 3/4].
        Ref.Close([0.25f, 0.75f], [2], Functional.Softmax(Ref.F([0, (float)Math.Log(3)], 2), 0), atol: 1e-7);
    }

    [Fact]
    public void ScaledDotProductAttention_matches_reference()
    {
        using var scope = TensorScope.Enter();
        var q = Ref.Seq([1, 2, 3, 4], 5);
        var k = Ref.Seq([1, 2, 5, 4], 7);
        var v = Ref.Seq([1, 2, 5, 3], 11);
        // Reference: softmax(q·kᵀ/sqrt(4))·v in float64 (PyTorch 1.13 has no F.scaled_dot_product_attention).
        Ref.Close(
            [-1.22673566f, 0.806039729f, -0.693960271f, -1.52321567f, 0.799672047f, -0.700327953f, -1.39682293f, 1.21640426f, -0.283595743f, 1.25096503f, -0.249034972f, -1.67619859f, 1.25576374f, -0.244236258f, -1.72372462f, 1.21161429f, -0.288385709f, -0.7040023f],
            [1, 2, 3, 3],
            Functional.ScaledDotProductAttention(q, k, v));
        // Reference with the scores scaled by 0.3 instead.
        Ref.Close(
            [-0.985813374f, 0.864242932f, -0.635757068f, -1.20812824f, 0.85172412f, -0.64827588f, -1.25050744f, 1.16142367f, -0.338576327f, 1.25205153f, -0.247948469f, -1.47483533f, 1.26595802f, -0.234041976f, -1.59525308f, 1.22333208f, -0.276667915f, -0.754903238f],
            [1, 2, 3, 3],
            Functional.ScaledDotProductAttention(q, k, v, scale: 0.3));
    }

    [Fact]
    public void ScaledDotProductAttention_boolean_and_float_masks_match_reference()
    {
        using var scope = TensorScope.Enter();
        var q = Ref.Seq([1, 2, 3, 4], 5);
        var k = Ref.Seq([1, 2, 5, 4], 7);
        var v = Ref.Seq([1, 2, 5, 3], 11);
        var keep = new[] { true, false, true, true, false, false, true, true, false, true, true, true, false, false, false };
        var boolMask = Tensor.FromArray(keep, 3, 5);
        // Reference: scores masked_fill(~mask, −inf) before the softmax (true = attend), broadcast over batch and heads.
        Ref.Close(
            [-1.95625799f, 0.793742014f, -0.706257986f, -0.092149048f, 0.914808109f, -0.585191891f, -1.26640121f, 1.48359879f, -0.0164012094f, 1.25606205f, -0.243937953f, -1.74393795f, 1.24905024f, -0.250949763f, -1.72957795f, 1.55703913f, 0.0570391255f, -1.44296087f],
            [1, 2, 3, 3],
            Functional.ScaledDotProductAttention(q, k, v, boolMask));
        // Reference: seq((3,5),13) added to the scores.
        Ref.Close(
            [-1.56375194f, 1.03587537f, -0.464124632f, -1.65038731f, 1.00851383f, -0.491486174f, -1.07660359f, 1.36770179f, -0.132298208f, 1.25752218f, -0.242477818f, -1.7322546f, 1.25336675f, -0.246633253f, -1.74378568f, 1.07034992f, -0.429650078f, 0.581166525f],
            [1, 2, 3, 3],
            Functional.ScaledDotProductAttention(q, k, v, Ref.Seq([3, 5], 13)));
        // An all-true mask changes nothing.
        var all = Torch.Ones([3, 5], DType.Bool);
        Ref.Close(Functional.ScaledDotProductAttention(q, k, v).ToArray<float>(), [1, 2, 3, 3], Functional.ScaledDotProductAttention(q, k, v, all), atol: 1e-6);
    }

    [Fact]
    public void ScaledDotProductAttention_causal_matches_reference()
    {
        using var scope = TensorScope.Enter();
        var q = Ref.Seq([1, 1, 4, 4], 5);
        var k = Ref.Seq([1, 1, 4, 4], 7);
        var v = Ref.Seq([1, 1, 4, 2], 11);
        // Reference: keys after the query position masked (tril of ones). Row 0 sees only key 0, so it is v[0] = [−1.25, 1.5].
        Ref.Close(
            [-1.25f, 1.5f, -0.119186831f, -1.21395161f, 0f, 0.552930817f, -0.181046772f, -0.810153003f],
            [1, 1, 4, 2],
            Functional.ScaledDotProductAttention(q, k, v, isCausal: true));
    }

    [Fact]
    public void InterpolateNearest_by_size_and_by_scale()
    {
        using var scope = TensorScope.Enter();
        // PyTorch: F.interpolate(arange(9).reshape(1,1,3,3), size=(5,4), mode="nearest"): source index floor(dst·in/out).
        Ref.Exact([0, 0, 1, 2, 0, 0, 1, 2, 3, 3, 4, 5, 3, 3, 4, 5, 6, 6, 7, 8], [1, 1, 5, 4], Functional.InterpolateNearest(Ref.Arange(1, 1, 3, 3), 5, 4));
        // By hand: every pixel of [[0,1],[2,3]] becomes a 2x2 block.
        Ref.Exact([0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 3, 3], [1, 1, 4, 4], Functional.InterpolateNearest(Ref.Arange(1, 1, 2, 2), 2));
    }

    [Fact]
    public void Pad_constant_and_negative()
    {
        using var scope = TensorScope.Enter();
        var x = Ref.Arange(1, 1, 2, 3);
        // F.pad(x, [1,2,0,1], value=-1): last dim gets 1 before and 2 after, the one before it 1 row after.
        Ref.Exact([-1, 0, 1, 2, -1, -1, -1, 3, 4, 5, -1, -1, -1, -1, -1, -1, -1, -1], [1, 1, 3, 6], Functional.Pad(x, [1, 2, 0, 1], -1));
        // F.pad(x, [-1,1]): a negative pad crops the first column, one zero column is appended.
        Ref.Exact([1, 2, 0, 4, 5, 0], [1, 1, 2, 3], Functional.Pad(x, [-1, 1]));
    }

    [Fact]
    public void AddLinearInPlace_adds_input_times_weight_transposed_into_the_output()
    {
        using var scope = TensorScope.Enter();
        // out [2,1,2] = 1; x [2,1,3] = [[1,2,3]], [[4,5,6]]; w [2,3] = [[1,0,0],[0,1,1]]; x·wᵀ = [[1,5]], [[4,11]].
        var output = Torch.Ones([2, 1, 2]);
        var x = Tensor.FromArray<float>([1, 2, 3, 4, 5, 6], 2, 1, 3);
        var w = Tensor.FromArray<float>([1, 0, 0, 0, 1, 1], 2, 3);
        output.AddLinearInPlace(x, w, alpha: 2);
        Assert.Equal([3f, 11f, 9f, 23f], output.ToArray<float>());
        Assert.Throws<TorchException>(() => output.Transpose(0, 2).AddLinearInPlace(x, w));
    }
}
