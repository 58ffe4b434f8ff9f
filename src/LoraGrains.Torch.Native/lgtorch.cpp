// LoraGrains native shim: flat C ABI over libtorch (see lgtorch.h for the contract).
#include "lgtorch.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/api/include/torch/version.h>

#ifdef LG_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#endif

#include <atomic>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <string>
#include <vector>

#define LG_TORCH_AT_LEAST(maj, min) \
  (TORCH_VERSION_MAJOR > (maj) || (TORCH_VERSION_MAJOR == (maj) && TORCH_VERSION_MINOR >= (min)))

struct lg_tensor_s { at::Tensor t; };
struct lg_generator_s { at::Generator g; };

namespace {

thread_local std::string last_error;

struct ArgumentError : std::runtime_error { using std::runtime_error::runtime_error; };

// With the OpenMP backend at::set_num_threads only changes the calling thread's OpenMP setting, and
// libtorch copies the process-wide value into a thread only on its first parallel op. .NET calls in
// from many threads (thread pool, test runners), so the count last set through lg_set_num_threads is
// re-applied on any thread whose copy is stale before it runs an op: one relaxed load per call. This is
// the same at::set_num_threads call libtorch itself makes on each thread's first parallel op.
std::atomic<int> requested_threads{0};  // 0: never set, libtorch's default applies
thread_local int applied_threads = 0;

void SyncThreadCount() {
  int n = requested_threads.load(std::memory_order_relaxed);
  if (n > 0 && n != applied_threads) {
    at::set_num_threads(n);
    applied_threads = n;
  }
}

// Runs body under inference mode and converts every exception into a status + message.
template <typename F>
int guarded(F&& body) noexcept {
  try {
    c10::InferenceMode mode;
    SyncThreadCount();
    body();
    return LG_OK;
  } catch (const c10::OutOfMemoryError& e) {
    last_error = e.what_without_backtrace();
    return LG_OUT_OF_MEMORY;
  } catch (const c10::Error& e) {
    last_error = e.what_without_backtrace();
    // libtorch 1.13's CPU allocator reports exhaustion as a plain c10::Error ("can't allocate memory").
    return last_error.find("can't allocate memory") != std::string::npos ? LG_OUT_OF_MEMORY : LG_ERROR;
  } catch (const ArgumentError& e) {
    last_error = e.what();
    return LG_INVALID_ARGUMENT;
  } catch (const std::bad_alloc&) {
    last_error = "out of memory (std::bad_alloc)";
    return LG_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    last_error = e.what();
    return LG_ERROR;
  } catch (...) {
    last_error = "unknown native error";
    return LG_ERROR;
  }
}

const at::Tensor& T(lg_tensor h) {
  if (h == nullptr) throw ArgumentError("null tensor handle");
  return h->t;
}

c10::optional<at::Tensor> Opt(lg_tensor h) {
  if (h == nullptr) return c10::nullopt;
  return h->t;
}

lg_tensor Wrap(at::Tensor t) { return new lg_tensor_s{std::move(t)}; }

void Out(lg_tensor* out, at::Tensor t) {
  if (out == nullptr) throw ArgumentError("null output pointer");
  *out = Wrap(std::move(t));
}

at::ScalarType ToScalarType(int dtype) {
  switch (dtype) {
    case LG_FLOAT32: return at::kFloat;
    case LG_FLOAT16: return at::kHalf;
    case LG_BFLOAT16: return at::kBFloat16;
    case LG_INT64: return at::kLong;
    case LG_INT32: return at::kInt;
    case LG_UINT8: return at::kByte;
    case LG_BOOL: return at::kBool;
    case LG_FLOAT64: return at::kDouble;
    case LG_INT8: return at::kChar;
    case LG_INT16: return at::kShort;
    default: throw ArgumentError("unknown dtype code " + std::to_string(dtype));
  }
}

int FromScalarType(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return LG_FLOAT32;
    case at::kHalf: return LG_FLOAT16;
    case at::kBFloat16: return LG_BFLOAT16;
    case at::kLong: return LG_INT64;
    case at::kInt: return LG_INT32;
    case at::kByte: return LG_UINT8;
    case at::kBool: return LG_BOOL;
    case at::kDouble: return LG_FLOAT64;
    case at::kChar: return LG_INT8;
    case at::kShort: return LG_INT16;
    default: throw ArgumentError(std::string("unsupported scalar type ") + c10::toString(t));
  }
}

at::Device ToDevice(int type, int index) {
  switch (type) {
    case LG_CPU: return at::Device(at::kCPU);
    case LG_CUDA:
      // Checked here so that a CPU-only libtorch (or no visible GPU) gives one clear message instead of
      // the dispatcher's list of every backend an op is registered for.
      if (!at::hasCUDA()) throw ArgumentError("CUDA device requested but CUDA is not available (CPU-only libtorch or no visible GPU)");
      return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index));
    default: throw ArgumentError("unknown device type code " + std::to_string(type));
  }
}

at::TensorOptions Options(int dtype, int device_type, int device_index) {
  return at::TensorOptions().dtype(ToScalarType(dtype)).device(ToDevice(device_type, device_index));
}

at::IntArrayRef Dims(const int64_t* p, int n) {
  if (n < 0 || (n > 0 && p == nullptr)) throw ArgumentError("invalid dimension list");
  return at::IntArrayRef(p, static_cast<size_t>(n));
}

at::Tensor QuickGelu(const at::Tensor& x) { return x * at::sigmoid(x * 1.702); }

at::Tensor Unary(int op, const at::Tensor& a) {
  switch (op) {
    case LG_NEG: return at::neg(a);
    case LG_EXP: return at::exp(a);
    case LG_LOG: return at::log(a);
    case LG_SQRT: return at::sqrt(a);
    case LG_RSQRT: return at::rsqrt(a);
    case LG_SIN: return at::sin(a);
    case LG_COS: return at::cos(a);
    case LG_ABS: return at::abs(a);
    case LG_SIGMOID: return at::sigmoid(a);
    case LG_TANH: return at::tanh(a);
    case LG_RELU: return at::relu(a);
    case LG_SILU: return at::silu(a);
    case LG_GELU: return at::gelu(a);
    case LG_GELU_TANH: return at::gelu(a, "tanh");
    case LG_QUICK_GELU: return QuickGelu(a);
    case LG_CONTIGUOUS: return a.contiguous();
    case LG_CLONE: return a.clone();
    case LG_SQUARE: return at::square(a);
    case LG_FLOOR: return at::floor(a);
    case LG_ROUND: return at::round(a);
    case LG_LOGICAL_NOT: return at::logical_not(a);
    case LG_RECIPROCAL: return at::reciprocal(a);
    case LG_ISFINITE: return at::isfinite(a);
    default: throw ArgumentError("unknown unary op " + std::to_string(op));
  }
}

void UnaryInPlace(int op, at::Tensor& a) {
  switch (op) {
    case LG_NEG: a.neg_(); return;
    case LG_EXP: a.exp_(); return;
    case LG_LOG: a.log_(); return;
    case LG_SQRT: a.sqrt_(); return;
    case LG_RSQRT: a.rsqrt_(); return;
    case LG_SIN: a.sin_(); return;
    case LG_COS: a.cos_(); return;
    case LG_ABS: a.abs_(); return;
    case LG_SIGMOID: a.sigmoid_(); return;
    case LG_TANH: a.tanh_(); return;
    case LG_RELU: a.relu_(); return;
    case LG_SILU: at::silu_(a); return;
    case LG_GELU: a.copy_(at::gelu(a)); return;
    case LG_GELU_TANH: a.copy_(at::gelu(a, "tanh")); return;
    case LG_QUICK_GELU: a.mul_(at::sigmoid(a * 1.702)); return;
    case LG_SQUARE: a.mul_(a); return;
    case LG_FLOOR: a.floor_(); return;
    case LG_ROUND: a.round_(); return;
    case LG_RECIPROCAL: a.reciprocal_(); return;
    default: throw ArgumentError("unary op " + std::to_string(op) + " has no in-place form");
  }
}

at::Tensor Binary(int op, const at::Tensor& a, const at::Tensor& b) {
  switch (op) {
    case LG_ADD: return at::add(a, b);
    case LG_SUB: return at::sub(a, b);
    case LG_MUL: return at::mul(a, b);
    case LG_DIV: return at::div(a, b);
    case LG_POW: return at::pow(a, b);
    case LG_MAXIMUM: return at::maximum(a, b);
    case LG_MINIMUM: return at::minimum(a, b);
    case LG_EQ: return at::eq(a, b);
    case LG_NE: return at::ne(a, b);
    case LG_LT: return at::lt(a, b);
    case LG_LE: return at::le(a, b);
    case LG_GT: return at::gt(a, b);
    case LG_GE: return at::ge(a, b);
    case LG_LOGICAL_AND: return at::logical_and(a, b);
    case LG_LOGICAL_OR: return at::logical_or(a, b);
    case LG_RSUB: return at::sub(b, a);
    case LG_RDIV: return at::div(b, a);
    default: throw ArgumentError("unknown binary op " + std::to_string(op));
  }
}

void BinaryInPlace(int op, at::Tensor& a, const at::Tensor& b) {
  switch (op) {
    case LG_ADD: a.add_(b); return;
    case LG_SUB: a.sub_(b); return;
    case LG_MUL: a.mul_(b); return;
    case LG_DIV: a.div_(b); return;
    case LG_POW: a.pow_(b); return;
    default: throw ArgumentError("binary op " + std::to_string(op) + " has no in-place form");
  }
}

// The C ABI carries every scalar as a double, but PyTorch's type promotion depends on the scalar's kind:
// int_tensor + 1 stays integer while int_tensor + 1.0 becomes float (and int_tensor.add_(1.0) fails). A
// whole-numbered value applied to an integer or bool tensor is therefore passed as an integer scalar, as
// the same expression with an int literal behaves in Python.
at::Scalar ScalarFor(const at::Tensor& a, double s) {
  bool integral_tensor = at::isIntegralType(a.scalar_type(), /*includeBool=*/true);
  if (integral_tensor && std::isfinite(s) && std::trunc(s) == s && s >= -9.2e18 && s <= 9.2e18)
    return at::Scalar(static_cast<int64_t>(s));
  return at::Scalar(s);
}

at::Tensor BinaryScalar(int op, const at::Tensor& a, double s) {
  at::Scalar v = ScalarFor(a, s);
  switch (op) {
    case LG_ADD: return at::add(a, v);
    case LG_SUB: return at::sub(a, v);
    case LG_MUL: return at::mul(a, v);
    case LG_DIV: return at::div(a, v);
    case LG_POW: return at::pow(a, v);
    case LG_MAXIMUM: return at::clamp_min(a, v);
    case LG_MINIMUM: return at::clamp_max(a, v);
    case LG_EQ: return at::eq(a, v);
    case LG_NE: return at::ne(a, v);
    case LG_LT: return at::lt(a, v);
    case LG_LE: return at::le(a, v);
    case LG_GT: return at::gt(a, v);
    case LG_GE: return at::ge(a, v);
    case LG_RSUB: return at::rsub(a, v);
    case LG_RDIV: return at::reciprocal(a).mul_(v);
    default: throw ArgumentError("binary op " + std::to_string(op) + " has no scalar form");
  }
}

void BinaryScalarInPlace(int op, at::Tensor& a, double s) {
  at::Scalar v = ScalarFor(a, s);
  switch (op) {
    case LG_ADD: a.add_(v); return;
    case LG_SUB: a.sub_(v); return;
    case LG_MUL: a.mul_(v); return;
    case LG_DIV: a.div_(v); return;
    case LG_POW: a.pow_(v); return;
    case LG_MAXIMUM: a.clamp_min_(v); return;
    case LG_MINIMUM: a.clamp_max_(v); return;
    case LG_RSUB: a.neg_().add_(v); return;
    default: throw ArgumentError("binary op " + std::to_string(op) + " has no in-place scalar form");
  }
}

#if !LG_TORCH_AT_LEAST(2, 1)
// Attention without the fused kernel (libtorch < 2.1): matmul, scale, softmax, matmul, as diffusers'
// AttnProcessor computes it (baddbmm with alpha = scale). Queries are processed in slices so one block of
// scores stays around 16 MB: the allocator then reuses heap memory instead of mapping (and faulting in)
// a fresh L×S matrix per call, and peak memory drops from O(L·S) to O(slice·S). Each query row's result
// is computed exactly as without slicing.
constexpr int64_t kScoreBlockBytes = 16 << 20;

at::Tensor AttentionMath(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                         const c10::optional<at::Tensor>& mask, bool causal, double scale) {
  const int64_t L = q.size(-2), S = k.size(-2);
  const int64_t leading = L == 0 ? 0 : q.numel() / (L * q.size(-1));
  const int64_t row_bytes = std::max<int64_t>(1, leading * S * static_cast<int64_t>(q.element_size()));
  const int64_t rows = std::max<int64_t>(1, kScoreBlockBytes / row_bytes);
  const auto kt = k.transpose(-2, -1);
  auto sizes = q.sizes().vec();
  sizes.back() = v.size(-1);
  auto out = at::empty(sizes, q.options());
  for (int64_t start = 0; start < L; start += rows) {
    const int64_t len = std::min(rows, L - start);
    auto scores = at::matmul(q.narrow(-2, start, len), kt).mul_(scale);
    if (causal) {
      // Query start+i may see keys 0..start+i.
      auto keep = at::ones({len, S}, q.options().dtype(at::kBool)).tril(start);
      scores.masked_fill_(keep.logical_not(), -std::numeric_limits<double>::infinity());
    }
    if (mask.has_value()) {
      auto m = mask->dim() >= 2 && mask->size(-2) == L ? mask->narrow(-2, start, len) : *mask;
      if (m.scalar_type() == at::kBool)
        scores.masked_fill_(m.logical_not(), -std::numeric_limits<double>::infinity());
      else
        scores.add_(m);
    }
    out.narrow(-2, start, len).copy_(at::matmul(at::softmax(scores, -1), v));
  }
  return out;
}
#endif

}  // namespace

extern "C" {

const char* lg_last_error(void) { return last_error.c_str(); }

int lg_torch_version(int* major, int* minor, int* patch) {
  return guarded([&] {
    *major = TORCH_VERSION_MAJOR;
    *minor = TORCH_VERSION_MINOR;
    *patch = TORCH_VERSION_PATCH;
  });
}

int lg_set_num_threads(int n) {
  return guarded([&] {
    if (n < 1) throw ArgumentError("thread count must be >= 1, got " + std::to_string(n));
    at::set_num_threads(n);
    applied_threads = n;
    requested_threads.store(n, std::memory_order_relaxed);
  });
}

int lg_get_num_threads(int* n) { return guarded([&] { *n = at::get_num_threads(); }); }

int lg_cuda_device_count(int* n) { return guarded([&] { *n = at::detail::getCUDAHooks().getNumGPUs(); }); }

int lg_cuda_synchronize(int device) {
  return guarded([&] {
#ifdef LG_WITH_CUDA
    c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(device));
    c10::cuda::device_synchronize();
#else
    (void)device;
    throw ArgumentError("this build of the shim has no CUDA support");
#endif
  });
}

int lg_cuda_memory(int device, int64_t* allocated, int64_t* peak, int reset_peak) {
  return guarded([&] {
#ifdef LG_WITH_CUDA
    auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device);
    auto agg = static_cast<size_t>(c10::cuda::CUDACachingAllocator::StatType::AGGREGATE);
    *allocated = stats.allocated_bytes[agg].current;
    *peak = stats.allocated_bytes[agg].peak;
    if (reset_peak) c10::cuda::CUDACachingAllocator::resetPeakStats(device);
#else
    (void)device; (void)allocated; (void)peak; (void)reset_peak;
    throw ArgumentError("this build of the shim has no CUDA support");
#endif
  });
}

int lg_cuda_empty_cache(void) {
  return guarded([&] {
#ifdef LG_WITH_CUDA
    c10::cuda::CUDACachingAllocator::emptyCache();
#endif
  });
}

int lg_generator_new(uint64_t seed, lg_generator* out) {
  return guarded([&] { *out = new lg_generator_s{at::detail::createCPUGenerator(seed)}; });
}

void lg_generator_free(lg_generator g) { delete g; }

int lg_generator_get_state(lg_generator g, lg_tensor* out) {
  return guarded([&] {
    if (g == nullptr) throw ArgumentError("null generator handle");
    std::lock_guard<std::mutex> lock(g->g.mutex());
    Out(out, g->g.get_state());
  });
}

int lg_generator_set_state(lg_generator g, lg_tensor state) {
  return guarded([&] {
    if (g == nullptr) throw ArgumentError("null generator handle");
    std::lock_guard<std::mutex> lock(g->g.mutex());
    g->g.set_state(T(state));
  });
}

void lg_tensor_free(lg_tensor t) { delete t; }

int lg_tensor_info(lg_tensor h, int* ndim, int64_t* shape, int max_dims, int* dtype, int* device_type, int* device_index) {
  return guarded([&] {
    const auto& t = T(h);
    auto d = static_cast<int>(t.dim());
    if (d > max_dims) throw ArgumentError("tensor has " + std::to_string(d) + " dims, more than " + std::to_string(max_dims));
    *ndim = d;
    for (int i = 0; i < d; ++i) shape[i] = t.size(i);
    *dtype = FromScalarType(t.scalar_type());
    *device_type = t.is_cuda() ? LG_CUDA : LG_CPU;
    *device_index = t.is_cuda() ? t.device().index() : -1;
  });
}

int lg_tensor_is_contiguous(lg_tensor h, int* out) { return guarded([&] { *out = T(h).is_contiguous() ? 1 : 0; }); }

int lg_tensor_data_ptr(lg_tensor h, void** out) { return guarded([&] { *out = T(h).data_ptr(); }); }

int lg_tensor_copy_to_host(lg_tensor h, void* dst, int64_t nbytes) {
  return guarded([&] {
    auto t = T(h).to(at::kCPU).contiguous();
    auto size = static_cast<int64_t>(t.numel() * t.element_size());
    if (size != nbytes)
      throw ArgumentError("destination holds " + std::to_string(nbytes) + " bytes but the tensor has " + std::to_string(size));
    if (size > 0) std::memcpy(dst, t.data_ptr(), static_cast<size_t>(size));
  });
}

int lg_tensor_from_host(const void* src, const int64_t* shape, int ndim, int src_dtype, int dst_dtype,
                        int device_type, int device_index, lg_tensor* out) {
  return guarded([&] {
    auto view = at::from_blob(const_cast<void*>(src), Dims(shape, ndim), at::TensorOptions().dtype(ToScalarType(src_dtype)));
    // One copy: straight into the target dtype and device.
    Out(out, view.to(Options(dst_dtype, device_type, device_index), /*non_blocking=*/false, /*copy=*/true));
  });
}

int lg_tensor_item(lg_tensor h, double* out) { return guarded([&] { *out = T(h).item<double>(); }); }

int lg_tensor_equal(lg_tensor a, lg_tensor b, int* out) { return guarded([&] { *out = at::equal(T(a), T(b)) ? 1 : 0; }); }

int lg_empty(const int64_t* shape, int ndim, int dtype, int dt, int di, lg_tensor* out) {
  return guarded([&] { Out(out, at::empty(Dims(shape, ndim), Options(dtype, dt, di))); });
}

int lg_full(const int64_t* shape, int ndim, double value, int dtype, int dt, int di, lg_tensor* out) {
  return guarded([&] { Out(out, at::full(Dims(shape, ndim), value, Options(dtype, dt, di))); });
}

int lg_arange(double start, double end, double step, int dtype, int dt, int di, lg_tensor* out) {
  return guarded([&] { Out(out, at::arange(start, end, step, Options(dtype, dt, di))); });
}

int lg_linspace(double start, double end, int64_t steps, int dtype, int dt, int di, lg_tensor* out) {
  return guarded([&] { Out(out, at::linspace(start, end, steps, Options(dtype, dt, di))); });
}

int lg_randn(const int64_t* shape, int ndim, lg_generator g, int dtype, int dt, int di, lg_tensor* out) {
  return guarded([&] {
    // No lock here: libtorch's CPU normal kernels take the generator's (non-recursive) mutex themselves,
    // so holding it around at::randn deadlocks, as Python's torch.randn never does.
    c10::optional<at::Generator> gen;
    if (g != nullptr) gen = g->g;
    Out(out, at::randn(Dims(shape, ndim), gen, Options(dtype, dt, di)));
  });
}

int lg_unary(int op, lg_tensor a, lg_tensor* out) { return guarded([&] { Out(out, Unary(op, T(a))); }); }

int lg_unary_(int op, lg_tensor a) {
  return guarded([&] { at::Tensor t = T(a); UnaryInPlace(op, t); });
}

int lg_binary(int op, lg_tensor a, lg_tensor b, lg_tensor* out) {
  return guarded([&] { Out(out, Binary(op, T(a), T(b))); });
}

int lg_binary_(int op, lg_tensor a, lg_tensor b) {
  return guarded([&] { at::Tensor t = T(a); BinaryInPlace(op, t, T(b)); });
}

int lg_binary_scalar(int op, lg_tensor a, double s, lg_tensor* out) {
  return guarded([&] { Out(out, BinaryScalar(op, T(a), s)); });
}

int lg_binary_scalar_(int op, lg_tensor a, double s) {
  return guarded([&] { at::Tensor t = T(a); BinaryScalarInPlace(op, t, s); });
}

int lg_add_scaled(lg_tensor a, lg_tensor b, double alpha, lg_tensor* out) {
  return guarded([&] { Out(out, at::add(T(a), T(b), alpha)); });
}

int lg_add_scaled_(lg_tensor a, lg_tensor b, double alpha) {
  return guarded([&] { at::Tensor t = T(a); t.add_(T(b), alpha); });
}

static c10::optional<at::Scalar> OptScalar(const at::Tensor& a, int has, double v) {
  if (!has) return c10::nullopt;
  return ScalarFor(a, v);
}

int lg_clamp(lg_tensor a, int has_min, double min, int has_max, double max, lg_tensor* out) {
  return guarded([&] {
    const auto& t = T(a);
    Out(out, at::clamp(t, OptScalar(t, has_min, min), OptScalar(t, has_max, max)));
  });
}

int lg_clamp_(lg_tensor a, int has_min, double min, int has_max, double max) {
  return guarded([&] { at::Tensor t = T(a); t.clamp_(OptScalar(t, has_min, min), OptScalar(t, has_max, max)); });
}

int lg_where(lg_tensor cond, lg_tensor a, lg_tensor b, lg_tensor* out) {
  return guarded([&] { Out(out, at::where(T(cond), T(a), T(b))); });
}

int lg_masked_fill(lg_tensor a, lg_tensor mask, double value, lg_tensor* out) {
  return guarded([&] { Out(out, T(a).masked_fill(T(mask), value)); });
}

int lg_fill_(lg_tensor a, double value) {
  return guarded([&] { at::Tensor t = T(a); t.fill_(value); });
}

int lg_copy_(lg_tensor dst, lg_tensor src) {
  return guarded([&] { at::Tensor t = T(dst); t.copy_(T(src)); });
}

int lg_triu(lg_tensor a, int64_t diagonal, lg_tensor* out) {
  return guarded([&] { Out(out, at::triu(T(a), diagonal)); });
}

int lg_reduce(int op, lg_tensor a, const int64_t* dims, int ndims, int keepdim, int correction, lg_tensor* out) {
  return guarded([&] {
    const auto& t = T(a);
    at::IntArrayRef d = Dims(dims, ndims);
    bool all = ndims == 0;
    bool unbiased = correction != 0;
    switch (op) {
      case LG_SUM: Out(out, all ? t.sum() : t.sum(d, keepdim)); return;
      case LG_MEAN: Out(out, all ? t.mean() : t.mean(d, keepdim)); return;
      case LG_AMAX: Out(out, all ? t.max() : t.amax(d, keepdim)); return;
      case LG_AMIN: Out(out, all ? t.min() : t.amin(d, keepdim)); return;
      case LG_VAR: Out(out, all ? t.var(unbiased) : t.var(d, unbiased, keepdim)); return;
      case LG_STD: Out(out, all ? t.std(unbiased) : t.std(d, unbiased, keepdim)); return;
      default: throw ArgumentError("unknown reduction " + std::to_string(op));
    }
  });
}

int lg_argmax(lg_tensor a, int64_t dim, int has_dim, int keepdim, lg_tensor* out) {
  return guarded([&] {
    Out(out, has_dim ? at::argmax(T(a), dim, keepdim) : at::argmax(T(a)));
  });
}

int lg_matmul(lg_tensor a, lg_tensor b, lg_tensor* out) { return guarded([&] { Out(out, at::matmul(T(a), T(b))); }); }

int lg_bmm(lg_tensor a, lg_tensor b, lg_tensor* out) { return guarded([&] { Out(out, at::bmm(T(a), T(b))); }); }

int lg_baddbmm(lg_tensor input, lg_tensor b1, lg_tensor b2, double beta, double alpha, lg_tensor* out) {
  return guarded([&] { Out(out, at::baddbmm(T(input), T(b1), T(b2), beta, alpha)); });
}

int lg_linear(lg_tensor x, lg_tensor w, lg_tensor b, lg_tensor* out) {
  return guarded([&] { Out(out, at::linear(T(x), T(w), Opt(b))); });
}

int lg_add_linear_(lg_tensor self, lg_tensor a, lg_tensor b, double alpha) {
  return guarded([&] {
    at::Tensor out = T(self);
    const auto& x = T(a);
    if (!out.is_contiguous()) throw ArgumentError("add_linear_: the output must be contiguous");
    auto out2 = out.view({-1, out.size(-1)});
    out2.addmm_(x.reshape({-1, x.size(-1)}), T(b).t(), 1.0, alpha);
  });
}

int lg_conv2d(lg_tensor x, lg_tensor w, lg_tensor b, const int64_t* stride, const int64_t* padding,
              const int64_t* dilation, int64_t groups, lg_tensor* out) {
  return guarded([&] {
    Out(out, at::conv2d(T(x), T(w), Opt(b), Dims(stride, 2), Dims(padding, 2), Dims(dilation, 2), groups));
  });
}

int lg_group_norm(lg_tensor x, int64_t groups, lg_tensor w, lg_tensor b, double eps, lg_tensor* out) {
  return guarded([&] { Out(out, at::group_norm(T(x), groups, Opt(w), Opt(b), eps)); });
}

int lg_layer_norm(lg_tensor x, const int64_t* normalized_shape, int ndim, lg_tensor w, lg_tensor b, double eps, lg_tensor* out) {
  return guarded([&] { Out(out, at::layer_norm(T(x), Dims(normalized_shape, ndim), Opt(w), Opt(b), eps)); });
}

int lg_softmax(lg_tensor x, int64_t dim, lg_tensor* out) { return guarded([&] { Out(out, at::softmax(T(x), dim)); }); }

int lg_log_softmax(lg_tensor x, int64_t dim, lg_tensor* out) {
  return guarded([&] { Out(out, at::log_softmax(T(x), dim)); });
}

int lg_scaled_dot_product_attention(lg_tensor q, lg_tensor k, lg_tensor v, lg_tensor mask, int is_causal, double scale, lg_tensor* out) {
  return guarded([&] {
    const auto& Q = T(q);
    double s = scale > 0 ? scale : 1.0 / std::sqrt(static_cast<double>(Q.size(-1)));
#if LG_TORCH_AT_LEAST(2, 1)
    Out(out, at::scaled_dot_product_attention(Q, T(k), T(v), Opt(mask), 0.0, is_causal != 0, s));
#else
    Out(out, AttentionMath(Q, T(k), T(v), Opt(mask), is_causal != 0, s));
#endif
  });
}

int lg_upsample_nearest2d(lg_tensor x, int64_t out_h, int64_t out_w, lg_tensor* out) {
  return guarded([&] {
    int64_t size[2] = {out_h, out_w};
    Out(out, at::upsample_nearest2d(T(x), at::IntArrayRef(size, 2)));
  });
}

int lg_constant_pad(lg_tensor x, const int64_t* pad, int npad, double value, lg_tensor* out) {
  return guarded([&] { Out(out, at::constant_pad_nd(T(x), Dims(pad, npad), value)); });
}

int lg_reshape(lg_tensor a, const int64_t* shape, int ndim, lg_tensor* out) {
  return guarded([&] { Out(out, T(a).reshape(Dims(shape, ndim))); });
}

int lg_view(lg_tensor a, const int64_t* shape, int ndim, lg_tensor* out) {
  return guarded([&] { Out(out, T(a).view(Dims(shape, ndim))); });
}

int lg_permute(lg_tensor a, const int64_t* dims, int ndim, lg_tensor* out) {
  return guarded([&] { Out(out, T(a).permute(Dims(dims, ndim))); });
}

int lg_transpose(lg_tensor a, int64_t d0, int64_t d1, lg_tensor* out) {
  return guarded([&] { Out(out, T(a).transpose(d0, d1)); });
}

int lg_unsqueeze(lg_tensor a, int64_t dim, lg_tensor* out) { return guarded([&] { Out(out, T(a).unsqueeze(dim)); }); }

int lg_squeeze(lg_tensor a, int64_t dim, lg_tensor* out) { return guarded([&] { Out(out, T(a).squeeze(dim)); }); }

int lg_expand(lg_tensor a, const int64_t* shape, int ndim, lg_tensor* out) {
  return guarded([&] { Out(out, T(a).expand(Dims(shape, ndim))); });
}

int lg_flatten(lg_tensor a, int64_t start, int64_t end, lg_tensor* out) {
  return guarded([&] { Out(out, T(a).flatten(start, end)); });
}

int lg_slice(lg_tensor a, int64_t dim, int64_t start, int64_t end, int64_t step, lg_tensor* out) {
  return guarded([&] { Out(out, T(a).slice(dim, start, end, step)); });
}

int lg_narrow(lg_tensor a, int64_t dim, int64_t start, int64_t length, lg_tensor* out) {
  return guarded([&] { Out(out, T(a).narrow(dim, start, length)); });
}

int lg_select(lg_tensor a, int64_t dim, int64_t index, lg_tensor* out) {
  return guarded([&] { Out(out, T(a).select(dim, index)); });
}

int lg_index_select(lg_tensor a, int64_t dim, lg_tensor index, lg_tensor* out) {
  return guarded([&] { Out(out, at::index_select(T(a), dim, T(index))); });
}

static std::vector<at::Tensor> TensorList(const lg_tensor* tensors, int n) {
  if (n <= 0 || tensors == nullptr) throw ArgumentError("expected a non-empty tensor list");
  std::vector<at::Tensor> list;
  list.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) list.push_back(T(tensors[i]));
  return list;
}

int lg_cat(const lg_tensor* tensors, int n, int64_t dim, lg_tensor* out) {
  return guarded([&] { Out(out, at::cat(TensorList(tensors, n), dim)); });
}

int lg_stack(const lg_tensor* tensors, int n, int64_t dim, lg_tensor* out) {
  return guarded([&] { Out(out, at::stack(TensorList(tensors, n), dim)); });
}

int lg_chunk(lg_tensor a, int64_t chunks, int64_t dim, lg_tensor* outs, int max_out, int* nout) {
  return guarded([&] {
    auto parts = T(a).chunk(chunks, dim);
    if (static_cast<int>(parts.size()) > max_out) throw ArgumentError("more chunks than output slots");
    for (size_t i = 0; i < parts.size(); ++i) outs[i] = Wrap(parts[i]);
    *nout = static_cast<int>(parts.size());
  });
}

int lg_split(lg_tensor a, const int64_t* sizes, int nsizes, int64_t dim, lg_tensor* outs) {
  return guarded([&] {
    auto parts = T(a).split_with_sizes(Dims(sizes, nsizes), dim);
    for (size_t i = 0; i < parts.size(); ++i) outs[i] = Wrap(parts[i]);
  });
}

int lg_repeat_interleave(lg_tensor a, int64_t repeats, int64_t dim, lg_tensor* out) {
  return guarded([&] { Out(out, at::repeat_interleave(T(a), repeats, dim)); });
}

int lg_to(lg_tensor a, int dtype, int device_type, int device_index, int copy, int non_blocking, lg_tensor* out) {
  return guarded([&] {
    Out(out, T(a).to(Options(dtype, device_type, device_index), non_blocking != 0, copy != 0));
  });
}

int lg_pin_memory(lg_tensor a, lg_tensor* out) {
  return guarded([&] {
    const auto& t = T(a);
    if (!t.device().is_cpu()) throw ArgumentError("only CPU tensors can be pinned (this one is on " + t.device().str() + ")");
    // Pinned memory comes from the CUDA host allocator; without CUDA libtorch fails deep inside, so say why here.
    if (!at::hasCUDA()) throw ArgumentError("pinned host memory needs CUDA (CPU-only libtorch or no visible GPU)");
    Out(out, t.pin_memory());
  });
}

int lg_tensor_is_pinned(lg_tensor t, int* out) {
  return guarded([&] {
    const auto& x = T(t);
    if (out == nullptr) throw ArgumentError("null output pointer");
    // Nothing is pinned without CUDA; not asking keeps CPU-only builds away from the CUDA hooks.
    *out = at::hasCUDA() && x.device().is_cpu() && x.is_pinned() ? 1 : 0;
  });
}

int lg_contiguous_format(lg_tensor a, int format, lg_tensor* out) {
  return guarded([&] {
    auto fmt = format == 1 ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
    Out(out, T(a).contiguous(fmt));
  });
}

}  // extern "C"
