// backends/backend.cpp — default kernels (each throws NotImplementedError; the fused ones are composites, in
// backends/composite.cpp), the tensors kernels allocate, backend choice per device, and the switch that forces the
// reference kernels.
#include "backends/backend.h"

#include <cstdlib>
#include <cstring>

#include "backends/cpu/cpu_backend.h"
#include "backends/reference/reference_backend.h"

namespace nabla {

void Backend::not_implemented(std::string_view kernel) const {
    throw NotImplementedError(detail::concat("kernel '", kernel, "' is not implemented by the ", name(), " backend"));
}

void Backend::copy_(const Tensor&, const Tensor&) { not_implemented("copy_"); }
void Backend::fill_(const Tensor&, double) { not_implemented("fill_"); }
void Backend::unary(UnaryOp, const Tensor&, const Tensor&, UnaryArgs) { not_implemented("unary"); }
void Backend::unary_backward(UnaryOp, const Tensor&, const Tensor&, const Tensor&, UnaryArgs) {
    not_implemented("unary_backward");
}
void Backend::binary(BinaryOp, const Tensor&, const Tensor&, const Tensor&) { not_implemented("binary"); }
void Backend::where(const Tensor&, const Tensor&, const Tensor&, const Tensor&) { not_implemented("where"); }
Tensor Backend::reduce(ReduceOp, const Tensor&, const Shape&, bool) { not_implemented("reduce"); }
ValuesIndices Backend::reduce_with_indices(ReduceOp, const Tensor&, int64_t, bool) {
    not_implemented("reduce_with_indices");
}
Tensor Backend::matmul(const Tensor&, const Tensor&, bool) { not_implemented("matmul"); }
Tensor Backend::conv2d(const Tensor&, const Tensor&, const Tensor&, const ConvParams&) { not_implemented("conv2d"); }
ConvGrads Backend::conv2d_backward(const Tensor&, const Tensor&, const Tensor&, const ConvParams&,
                                   std::array<bool, 3>) {
    not_implemented("conv2d_backward");
}
Tensor Backend::conv_transpose2d(const Tensor&, const Tensor&, const Tensor&, const ConvParams&) {
    not_implemented("conv_transpose2d");
}
ConvGrads Backend::conv_transpose2d_backward(const Tensor&, const Tensor&, const Tensor&, const ConvParams&,
                                             std::array<bool, 3>) {
    not_implemented("conv_transpose2d_backward");
}
ValuesIndices Backend::max_pool2d(const Tensor&, const PoolParams&) { not_implemented("max_pool2d"); }
Tensor Backend::max_pool2d_backward(const Tensor&, const Tensor&, const Shape&) {
    not_implemented("max_pool2d_backward");
}
Tensor Backend::avg_pool2d(const Tensor&, const PoolParams&) { not_implemented("avg_pool2d"); }
Tensor Backend::avg_pool2d_backward(const Tensor&, const Shape&, const PoolParams&) {
    not_implemented("avg_pool2d_backward");
}
Tensor Backend::adaptive_avg_pool2d(const Tensor&, Int2) { not_implemented("adaptive_avg_pool2d"); }
Tensor Backend::adaptive_avg_pool2d_backward(const Tensor&, const Shape&) {
    not_implemented("adaptive_avg_pool2d_backward");
}
Tensor Backend::upsample(const Tensor&, const UpsampleParams&) { not_implemented("upsample"); }
Tensor Backend::upsample_backward(const Tensor&, const Shape&, const UpsampleParams&) {
    not_implemented("upsample_backward");
}
Tensor Backend::im2col(const Tensor&, const UnfoldOptions&) { not_implemented("im2col"); }
Tensor Backend::col2im(const Tensor&, Int2, const UnfoldOptions&) { not_implemented("col2im"); }
BatchNormResult Backend::batch_norm(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, bool,
                                    double, double, NormAct) {
    not_implemented("batch_norm");
}
BatchNormGrads Backend::batch_norm_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                            const Tensor&, bool, NormAct, std::array<bool, 3>) {
    not_implemented("batch_norm_backward");
}
Tensor Backend::index_select(const Tensor&, int64_t, const Tensor&) { not_implemented("index_select"); }
void Backend::index_add_(const Tensor&, int64_t, const Tensor&, const Tensor&) { not_implemented("index_add_"); }
Tensor Backend::gather(const Tensor&, int64_t, const Tensor&) { not_implemented("gather"); }
void Backend::scatter_add_(const Tensor&, int64_t, const Tensor&, const Tensor&) { not_implemented("scatter_add_"); }
Tensor Backend::index(const Tensor&, const std::vector<Tensor>&) { not_implemented("index"); }
void Backend::index_put_(const Tensor&, const std::vector<Tensor>&, const Tensor&, bool) {
    not_implemented("index_put_");
}
Tensor Backend::pad(const Tensor&, const Shape&, PadMode, double) { not_implemented("pad"); }
Tensor Backend::pad_backward(const Tensor&, const Shape&, const Shape&, PadMode) { not_implemented("pad_backward"); }
Tensor Backend::flip(const Tensor&, const Shape&) { not_implemented("flip"); }
ValuesIndices Backend::sort(const Tensor&, int64_t, bool) { not_implemented("sort"); }
ValuesIndices Backend::topk(const Tensor&, int64_t, int64_t, bool, bool) { not_implemented("topk"); }

// --- tensors for kernels ---
namespace kernel {

Tensor empty(const Shape& shape, const TensorOptions& options, MemoryFormat format) {
    return make_tensor(shape, options.dtype, options.device, format);
}

Tensor full(const Shape& shape, double value, const TensorOptions& options) {
    Tensor t = empty(shape, options);
    backend_for(t).fill_(t, value);
    return t;
}

Tensor contiguous(const Tensor& x) {
    if (x.is_contiguous()) return x;
    Tensor out = empty(x.shape(), x.options());
    backend_for(x).copy_(out, x);
    return out;
}

Tensor contiguous(const Tensor& x, MemoryFormat format) {
    if (x.is_contiguous(format)) return x;
    Tensor out = empty(x.shape(), x.options(), format);
    backend_for(x).copy_(out, x);
    return out;
}

Tensor to(const Tensor& x, DType dtype) {
    if (x.dtype() == dtype) return contiguous(x);
    Tensor out = empty(x.shape(), {.dtype = dtype, .device = x.device()});
    backend_for(x).copy_(out, x);
    return out;
}

Tensor expand(const Tensor& x, const Shape& shape) {
    const int64_t lead = static_cast<int64_t>(shape.size()) - x.dim();
    NB_CHECK(lead >= 0, "kernel::expand: ", x.shape(), " has more dims than ", shape);
    Shape strides(shape.size(), 0);
    for (int64_t d = 0; d < x.dim(); ++d) {
        NB_CHECK(x.size(d) == shape[lead + d] || x.size(d) == 1, "kernel::expand: ", x.shape(),
                 " does not broadcast to ", shape);
        strides[lead + d] = x.size(d) == 1 ? 0 : x.stride(d);
    }
    return make_view(x, shape, strides, x.offset());
}

}  // namespace kernel

// --- choosing a backend ---
namespace {

Kernels initial_kernels_mode() {
    const char* env = std::getenv("NABLA_KERNELS");
    return env && std::strcmp(env, "reference") == 0 ? Kernels::reference : Kernels::fast;
}

thread_local Kernels t_kernels = initial_kernels_mode();

}  // namespace

Kernels kernels_mode() { return t_kernels; }
void set_kernels_mode(Kernels k) { t_kernels = k; }

namespace {
Backend* g_device_backends[kDeviceTypes] =
    {};  // by DeviceType, filled by register_backend (zero-initialised, as the allocators)
}  // namespace

void register_backend(DeviceType type, Backend* backend) { g_device_backends[static_cast<int>(type)] = backend; }

Backend& backend_for(Device device) {
    static ReferenceBackend reference;
    static CpuBackend cpu;
    if (device.is_cpu()) return t_kernels == Kernels::reference ? static_cast<Backend&>(reference) : cpu;
    if (Backend* b = g_device_backends[static_cast<int>(device.type)]) return *b;
    throw NotImplementedError(
        detail::concat("no backend for device ", device.str(), ": Nabla was built without the CUDA backend"));
}

}  // namespace nabla
