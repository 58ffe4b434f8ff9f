using System.Runtime.InteropServices;

namespace LoraGrains.Torch.Native;

/// <summary>P/Invoke declarations for the flat C ABI of <c>liblgtorch.so</c> (see lgtorch.h).</summary>
internal static unsafe partial class NativeMethods
{
    private const string Lib = "lgtorch";

    [LibraryImport(Lib)] internal static partial nint lg_last_error();
    [LibraryImport(Lib)] internal static partial int lg_torch_version(out int major, out int minor, out int patch);
    [LibraryImport(Lib)] internal static partial int lg_set_num_threads(int n);
    [LibraryImport(Lib)] internal static partial int lg_get_num_threads(out int n);
    [LibraryImport(Lib)] internal static partial int lg_cuda_device_count(out int n);
    [LibraryImport(Lib)] internal static partial int lg_cuda_synchronize(int device);
    [LibraryImport(Lib)] internal static partial int lg_cuda_memory(int device, out long allocated, out long peak, int resetPeak);
    [LibraryImport(Lib)] internal static partial int lg_cuda_empty_cache();

    [LibraryImport(Lib)] internal static partial int lg_generator_new(ulong seed, out nint handle);
    [LibraryImport(Lib)] internal static partial void lg_generator_free(nint g);
    [LibraryImport(Lib)] internal static partial int lg_generator_get_state(GeneratorHandle g, out nint state);
    [LibraryImport(Lib)] internal static partial int lg_generator_set_state(GeneratorHandle g, TensorHandle state);

    [LibraryImport(Lib)] internal static partial void lg_tensor_free(nint t);
    [LibraryImport(Lib)] internal static partial int lg_tensor_info(TensorHandle t, out int ndim, long* shape, int maxDims, out int dtype, out int deviceType, out int deviceIndex);
    [LibraryImport(Lib)] internal static partial int lg_tensor_is_contiguous(TensorHandle t, out int result);
    [LibraryImport(Lib)] internal static partial int lg_tensor_data_ptr(TensorHandle t, out nint ptr);
    [LibraryImport(Lib)] internal static partial int lg_tensor_copy_to_host(TensorHandle t, void* dst, long nbytes);
    [LibraryImport(Lib)] internal static partial int lg_tensor_from_host(void* src, long* shape, int ndim, int srcDtype, int dstDtype, int deviceType, int deviceIndex, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_tensor_item(TensorHandle t, out double value);
    [LibraryImport(Lib)] internal static partial int lg_tensor_equal(TensorHandle a, TensorHandle b, out int result);

    [LibraryImport(Lib)] internal static partial int lg_empty(long* shape, int ndim, int dtype, int deviceType, int deviceIndex, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_full(long* shape, int ndim, double value, int dtype, int deviceType, int deviceIndex, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_arange(double start, double end, double step, int dtype, int deviceType, int deviceIndex, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_linspace(double start, double end, long steps, int dtype, int deviceType, int deviceIndex, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_randn(long* shape, int ndim, GeneratorHandle generator, int dtype, int deviceType, int deviceIndex, out nint result);

    [LibraryImport(Lib)] internal static partial int lg_unary(int op, TensorHandle a, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_unary_(int op, TensorHandle a);
    [LibraryImport(Lib)] internal static partial int lg_binary(int op, TensorHandle a, TensorHandle b, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_binary_(int op, TensorHandle a, TensorHandle b);
    [LibraryImport(Lib)] internal static partial int lg_binary_scalar(int op, TensorHandle a, double s, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_binary_scalar_(int op, TensorHandle a, double s);
    [LibraryImport(Lib)] internal static partial int lg_add_scaled(TensorHandle a, TensorHandle b, double alpha, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_add_scaled_(TensorHandle a, TensorHandle b, double alpha);
    [LibraryImport(Lib)] internal static partial int lg_clamp(TensorHandle a, int hasMin, double min, int hasMax, double max, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_clamp_(TensorHandle a, int hasMin, double min, int hasMax, double max);
    [LibraryImport(Lib)] internal static partial int lg_where(TensorHandle cond, TensorHandle a, TensorHandle b, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_masked_fill(TensorHandle a, TensorHandle mask, double value, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_fill_(TensorHandle a, double value);
    [LibraryImport(Lib)] internal static partial int lg_copy_(TensorHandle dst, TensorHandle src);
    [LibraryImport(Lib)] internal static partial int lg_triu(TensorHandle a, long diagonal, out nint result);

    [LibraryImport(Lib)] internal static partial int lg_reduce(int op, TensorHandle a, long* dims, int ndims, int keepdim, int correction, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_argmax(TensorHandle a, long dim, int hasDim, int keepdim, out nint result);

    [LibraryImport(Lib)] internal static partial int lg_matmul(TensorHandle a, TensorHandle b, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_bmm(TensorHandle a, TensorHandle b, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_baddbmm(TensorHandle input, TensorHandle b1, TensorHandle b2, double beta, double alpha, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_linear(TensorHandle x, TensorHandle w, TensorHandle b, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_add_linear_(TensorHandle self, TensorHandle a, TensorHandle b, double alpha);
    [LibraryImport(Lib)] internal static partial int lg_conv2d(TensorHandle x, TensorHandle w, TensorHandle b, long* stride, long* padding, long* dilation, long groups, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_group_norm(TensorHandle x, long groups, TensorHandle w, TensorHandle b, double eps, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_layer_norm(TensorHandle x, long* normalizedShape, int ndim, TensorHandle w, TensorHandle b, double eps, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_softmax(TensorHandle x, long dim, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_log_softmax(TensorHandle x, long dim, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_scaled_dot_product_attention(TensorHandle q, TensorHandle k, TensorHandle v, TensorHandle mask, int isCausal, double scale, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_upsample_nearest2d(TensorHandle x, long outH, long outW, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_constant_pad(TensorHandle x, long* pad, int npad, double value, out nint result);

    [LibraryImport(Lib)] internal static partial int lg_reshape(TensorHandle a, long* shape, int ndim, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_view(TensorHandle a, long* shape, int ndim, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_permute(TensorHandle a, long* dims, int ndim, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_transpose(TensorHandle a, long d0, long d1, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_unsqueeze(TensorHandle a, long dim, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_squeeze(TensorHandle a, long dim, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_expand(TensorHandle a, long* shape, int ndim, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_flatten(TensorHandle a, long start, long end, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_slice(TensorHandle a, long dim, long start, long end, long step, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_narrow(TensorHandle a, long dim, long start, long length, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_select(TensorHandle a, long dim, long index, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_index_select(TensorHandle a, long dim, TensorHandle index, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_cat(nint* tensors, int n, long dim, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_stack(nint* tensors, int n, long dim, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_chunk(TensorHandle a, long chunks, long dim, nint* outs, int maxOut, out int nout);
    [LibraryImport(Lib)] internal static partial int lg_split(TensorHandle a, long* sizes, int nsizes, long dim, nint* outs);
    [LibraryImport(Lib)] internal static partial int lg_repeat_interleave(TensorHandle a, long repeats, long dim, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_to(TensorHandle a, int dtype, int deviceType, int deviceIndex, int copy, int nonBlocking, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_pin_memory(TensorHandle a, out nint result);
    [LibraryImport(Lib)] internal static partial int lg_tensor_is_pinned(TensorHandle t, out int result);
    [LibraryImport(Lib)] internal static partial int lg_contiguous_format(TensorHandle a, int format, out nint result);
}
