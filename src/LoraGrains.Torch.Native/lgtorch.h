/* LoraGrains native shim: a flat C ABI over libtorch.
 * Every function returns LG_OK (0) or an error status; the message of the last error on the
 * calling thread is read with lg_last_error(). Nothing is thrown across this boundary and
 * every call runs under libtorch's inference mode. Tensors are opaque owning handles freed
 * with lg_tensor_free. */
#ifndef LGTORCH_H
#define LGTORCH_H
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LG_API __attribute__((visibility("default")))

typedef struct lg_tensor_s* lg_tensor;
typedef struct lg_generator_s* lg_generator;

enum { LG_OK = 0, LG_ERROR = 1, LG_OUT_OF_MEMORY = 2, LG_INVALID_ARGUMENT = 3 };

/* dtype codes (match LoraGrains.Torch.DType) */
enum { LG_FLOAT32 = 0, LG_FLOAT16 = 1, LG_BFLOAT16 = 2, LG_INT64 = 3, LG_INT32 = 4, LG_UINT8 = 5, LG_BOOL = 6, LG_FLOAT64 = 7, LG_INT8 = 8, LG_INT16 = 9 };
/* device type codes */
enum { LG_CPU = 0, LG_CUDA = 1 };

enum lg_unary_op {
  LG_NEG, LG_EXP, LG_LOG, LG_SQRT, LG_RSQRT, LG_SIN, LG_COS, LG_ABS, LG_SIGMOID, LG_TANH,
  LG_RELU, LG_SILU, LG_GELU, LG_GELU_TANH, LG_QUICK_GELU, LG_CONTIGUOUS, LG_CLONE, LG_SQUARE,
  LG_FLOOR, LG_ROUND, LG_LOGICAL_NOT, LG_RECIPROCAL, LG_ISFINITE
};
enum lg_binary_op {
  LG_ADD, LG_SUB, LG_MUL, LG_DIV, LG_POW, LG_MAXIMUM, LG_MINIMUM, LG_EQ, LG_NE, LG_LT, LG_LE,
  LG_GT, LG_GE, LG_LOGICAL_AND, LG_LOGICAL_OR, LG_RSUB, LG_RDIV
};
enum lg_reduce_op { LG_SUM, LG_MEAN, LG_AMAX, LG_AMIN, LG_VAR, LG_STD };

LG_API const char* lg_last_error(void);
LG_API int lg_torch_version(int* major, int* minor, int* patch);
LG_API int lg_set_num_threads(int n);
LG_API int lg_get_num_threads(int* n);
LG_API int lg_cuda_device_count(int* n);
LG_API int lg_cuda_synchronize(int device);
LG_API int lg_cuda_memory(int device, int64_t* allocated, int64_t* peak, int reset_peak);
LG_API int lg_cuda_empty_cache(void);

/* Generators: CPU mt19937 seeded exactly like torch.manual_seed / torch.Generator().manual_seed. */
LG_API int lg_generator_new(uint64_t seed, lg_generator* out);
LG_API void lg_generator_free(lg_generator g);
LG_API int lg_generator_get_state(lg_generator g, lg_tensor* out);
LG_API int lg_generator_set_state(lg_generator g, lg_tensor state);

/* Tensor lifetime and metadata */
LG_API void lg_tensor_free(lg_tensor t);
LG_API int lg_tensor_info(lg_tensor t, int* ndim, int64_t* shape, int max_dims, int* dtype, int* device_type, int* device_index);
LG_API int lg_tensor_is_contiguous(lg_tensor t, int* out);
LG_API int lg_tensor_data_ptr(lg_tensor t, void** out);
LG_API int lg_tensor_copy_to_host(lg_tensor t, void* dst, int64_t nbytes);
LG_API int lg_tensor_from_host(const void* src, const int64_t* shape, int ndim, int src_dtype, int dst_dtype, int device_type, int device_index, lg_tensor* out);
LG_API int lg_tensor_item(lg_tensor t, double* out);
LG_API int lg_tensor_equal(lg_tensor a, lg_tensor b, int* out);

/* Creation */
LG_API int lg_empty(const int64_t* shape, int ndim, int dtype, int device_type, int device_index, lg_tensor* out);
LG_API int lg_full(const int64_t* shape, int ndim, double value, int dtype, int device_type, int device_index, lg_tensor* out);
LG_API int lg_arange(double start, double end, double step, int dtype, int device_type, int device_index, lg_tensor* out);
LG_API int lg_linspace(double start, double end, int64_t steps, int dtype, int device_type, int device_index, lg_tensor* out);
LG_API int lg_randn(const int64_t* shape, int ndim, lg_generator g, int dtype, int device_type, int device_index, lg_tensor* out);

/* Elementwise */
LG_API int lg_unary(int op, lg_tensor a, lg_tensor* out);
LG_API int lg_unary_(int op, lg_tensor a);
LG_API int lg_binary(int op, lg_tensor a, lg_tensor b, lg_tensor* out);
LG_API int lg_binary_(int op, lg_tensor a, lg_tensor b);
LG_API int lg_binary_scalar(int op, lg_tensor a, double s, lg_tensor* out);
LG_API int lg_binary_scalar_(int op, lg_tensor a, double s);
LG_API int lg_add_scaled(lg_tensor a, lg_tensor b, double alpha, lg_tensor* out);
LG_API int lg_add_scaled_(lg_tensor a, lg_tensor b, double alpha);
LG_API int lg_clamp(lg_tensor a, int has_min, double min, int has_max, double max, lg_tensor* out);
LG_API int lg_clamp_(lg_tensor a, int has_min, double min, int has_max, double max);
LG_API int lg_where(lg_tensor cond, lg_tensor a, lg_tensor b, lg_tensor* out);
LG_API int lg_masked_fill(lg_tensor a, lg_tensor mask, double value, lg_tensor* out);
LG_API int lg_fill_(lg_tensor a, double value);
LG_API int lg_copy_(lg_tensor dst, lg_tensor src);
LG_API int lg_triu(lg_tensor a, int64_t diagonal, lg_tensor* out);

/* Reductions (ndims == 0 reduces over all dimensions) */
LG_API int lg_reduce(int op, lg_tensor a, const int64_t* dims, int ndims, int keepdim, int correction, lg_tensor* out);
LG_API int lg_argmax(lg_tensor a, int64_t dim, int has_dim, int keepdim, lg_tensor* out);

/* Linear algebra and neural-network ops */
LG_API int lg_matmul(lg_tensor a, lg_tensor b, lg_tensor* out);
LG_API int lg_bmm(lg_tensor a, lg_tensor b, lg_tensor* out);
LG_API int lg_baddbmm(lg_tensor input, lg_tensor b1, lg_tensor b2, double beta, double alpha, lg_tensor* out);
LG_API int lg_linear(lg_tensor x, lg_tensor w, lg_tensor b, lg_tensor* out);
/* self += alpha * (a @ bᵀ) in place; self [.., n] and a [.., k] are viewed as matrices over their last dimension, b is [n, k] */
LG_API int lg_add_linear_(lg_tensor self, lg_tensor a, lg_tensor b, double alpha);
LG_API int lg_conv2d(lg_tensor x, lg_tensor w, lg_tensor b, const int64_t* stride, const int64_t* padding, const int64_t* dilation, int64_t groups, lg_tensor* out);
LG_API int lg_group_norm(lg_tensor x, int64_t groups, lg_tensor w, lg_tensor b, double eps, lg_tensor* out);
LG_API int lg_layer_norm(lg_tensor x, const int64_t* normalized_shape, int ndim, lg_tensor w, lg_tensor b, double eps, lg_tensor* out);
LG_API int lg_softmax(lg_tensor x, int64_t dim, lg_tensor* out);
LG_API int lg_log_softmax(lg_tensor x, int64_t dim, lg_tensor* out);
/* scale <= 0 means 1/sqrt(head_dim); mask may be null (boolean: true = keep; float: added) */
LG_API int lg_scaled_dot_product_attention(lg_tensor q, lg_tensor k, lg_tensor v, lg_tensor mask, int is_causal, double scale, lg_tensor* out);
LG_API int lg_upsample_nearest2d(lg_tensor x, int64_t out_h, int64_t out_w, lg_tensor* out);
LG_API int lg_constant_pad(lg_tensor x, const int64_t* pad, int npad, double value, lg_tensor* out);

/* Shape and indexing (views where libtorch returns views) */
LG_API int lg_reshape(lg_tensor a, const int64_t* shape, int ndim, lg_tensor* out);
LG_API int lg_view(lg_tensor a, const int64_t* shape, int ndim, lg_tensor* out);
LG_API int lg_permute(lg_tensor a, const int64_t* dims, int ndim, lg_tensor* out);
LG_API int lg_transpose(lg_tensor a, int64_t d0, int64_t d1, lg_tensor* out);
LG_API int lg_unsqueeze(lg_tensor a, int64_t dim, lg_tensor* out);
LG_API int lg_squeeze(lg_tensor a, int64_t dim, lg_tensor* out);
LG_API int lg_expand(lg_tensor a, const int64_t* shape, int ndim, lg_tensor* out);
LG_API int lg_flatten(lg_tensor a, int64_t start, int64_t end, lg_tensor* out);
LG_API int lg_slice(lg_tensor a, int64_t dim, int64_t start, int64_t end, int64_t step, lg_tensor* out);
/* torch.narrow: negative start counts from the end; start + length past the end is an error */
LG_API int lg_narrow(lg_tensor a, int64_t dim, int64_t start, int64_t length, lg_tensor* out);
LG_API int lg_select(lg_tensor a, int64_t dim, int64_t index, lg_tensor* out);
LG_API int lg_index_select(lg_tensor a, int64_t dim, lg_tensor index, lg_tensor* out);
LG_API int lg_cat(const lg_tensor* tensors, int n, int64_t dim, lg_tensor* out);
LG_API int lg_stack(const lg_tensor* tensors, int n, int64_t dim, lg_tensor* out);
/* outs must have room for max_out handles; *nout receives the count */
LG_API int lg_chunk(lg_tensor a, int64_t chunks, int64_t dim, lg_tensor* outs, int max_out, int* nout);
LG_API int lg_split(lg_tensor a, const int64_t* sizes, int nsizes, int64_t dim, lg_tensor* outs);
LG_API int lg_repeat_interleave(lg_tensor a, int64_t repeats, int64_t dim, lg_tensor* out);
/* non_blocking: asynchronous (ordered on the current stream) when copying pinned host memory to CUDA */
LG_API int lg_to(lg_tensor a, int dtype, int device_type, int device_index, int copy, int non_blocking, lg_tensor* out);
/* A page-locked (pinned) copy of a CPU tensor; needs CUDA (a CPU-only libtorch has no pinned-memory allocator) */
LG_API int lg_pin_memory(lg_tensor a, lg_tensor* out);
/* *out = 1 when the tensor's memory is page-locked host memory; always 0 without CUDA */
LG_API int lg_tensor_is_pinned(lg_tensor t, int* out);
/* format: 0 = contiguous, 1 = channels_last */
LG_API int lg_contiguous_format(lg_tensor a, int format, lg_tensor* out);

#ifdef __cplusplus
}
#endif
#endif
