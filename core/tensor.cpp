// core/tensor.cpp — Tensor metadata, allocation of new tensors and views, and the autograd fields a tensor carries
// (requires_grad, grad, detach). Nothing here runs a kernel: that starts one layer up, in backends/ and ops/.
#include "core/tensor.h"

namespace nabla {

namespace {
// wrap_dim lets a 0-dim tensor take dim 0 or -1 (for reductions and squeeze); size and stride need a real dim.
int64_t existing_dim(const Tensor& t, int64_t d, const char* op) {
    if (t.dim() == 0)
        throw IndexError(detail::concat(op, ": dimension specified as ", d, " but tensor has no dimensions"));
    return wrap_dim(d, t.dim(), op);
}
}  // namespace

int64_t Tensor::size(int64_t d) const { return shape()[existing_dim(*this, d, "size")]; }
int64_t Tensor::stride(int64_t d) const { return strides()[existing_dim(*this, d, "stride")]; }

bool Tensor::is_contiguous() const {
    if (numel() == 0) return true;  // as PyTorch: an empty tensor is contiguous whatever its strides
    int64_t expected = 1;
    for (int64_t d = dim() - 1; d >= 0; --d) {
        if (shape()[d] == 1) continue;
        if (strides()[d] != expected) return false;
        expected *= shape()[d];
    }
    return true;
}

bool Tensor::is_contiguous(MemoryFormat format) const {
    if (format == MemoryFormat::Contiguous) return is_contiguous();
    if (dim() != 4) return false;
    if (numel() == 0) return true;
    int64_t expected = 1;
    for (int64_t d : {1, 3, 2, 0}) {  // C fastest, then W, H, N
        if (shape()[d] == 1) continue;
        if (strides()[d] != expected) return false;
        expected *= shape()[d];
    }
    return true;
}

// As torch's is_channels_last_strides_2d: the strides grow in the order C, W, H, N, densely or not (a channel slice
// of a channels-last tensor still suggests channels-last). A plain contiguous tensor suggests Contiguous even where
// it is channels-last too (C = 1 or H = W = 1).
MemoryFormat Tensor::suggest_memory_format() const {
    if (dim() != 4 || is_contiguous()) return MemoryFormat::Contiguous;
    int64_t min = 0;
    for (int64_t d : {1, 3, 2, 0}) {
        if (shape()[d] == 0 || strides()[d] < min || (d == 0 && min == strides()[1])) return MemoryFormat::Contiguous;
        min = strides()[d] * (shape()[d] > 1 ? shape()[d] : 1);
    }
    return MemoryFormat::ChannelsLast;
}

Tensor make_tensor(const Shape& shape, DType dtype, Device device, MemoryFormat format) {
    for (int64_t s : shape) NB_CHECK_VALUE(s >= 0, "empty: negative size in shape ", shape);
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = std::make_shared<Storage>(static_cast<size_t>(numel_of(shape)) * element_size(dtype), device);
    impl->shape = shape;
    impl->strides = format == MemoryFormat::ChannelsLast ? channels_last_strides(shape) : contiguous_strides(shape);
    impl->dtype = dtype;
    return Tensor(std::move(impl));
}

Tensor make_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset) {
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = base.storage();
    impl->shape = shape;
    impl->strides = strides;
    impl->offset = offset;
    impl->dtype = base.dtype();
    return Tensor(std::move(impl));
}

// --- the autograd fields (the tape that fills them is autograd/; backward() runs in autograd/engine.cpp) ---

Tensor& Tensor::requires_grad_(bool on) {
    checked();
    NB_CHECK_VALUE(!on || is_floating(dtype()),
                   "requires_grad_: only floating-point tensors can require gradients, got ", dtype_name(dtype()));
    NB_CHECK_VALUE(on || is_leaf(), "requires_grad_: can only change requires_grad of a leaf tensor");
    impl()->requires_grad = on;
    return *this;
}

Tensor Tensor::grad() const { return checked().grad ? Tensor(checked().grad) : Tensor(); }

void Tensor::set_grad(const Tensor& g) const {
    if (g.defined())
        NB_CHECK(g.shape() == shape(), "set_grad: gradient ", g.shape(), " for a tensor of shape ", shape());
    if (g.defined() && g.dtype() != dtype())
        throw TypeError(detail::concat("set_grad: gradient of dtype ", dtype_name(g.dtype()), " for a tensor of dtype ",
                                       dtype_name(dtype())));
    impl()->grad = g.defined() ? g.impl_ptr() : nullptr;
}

Tensor Tensor::detach() const { return make_view(*this, shape(), strides(), offset()); }

}  // namespace nabla
