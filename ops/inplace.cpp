// ops/inplace.cpp — the in-place methods of Tensor (zero_, fill_, copy_, add_, sub_, mul_, div_, clamp_).
// In-place ops carry no gradient: they are for optimizers, initialisers and buffers, which run under NoGradGuard.
// As torch: an error in grad mode on a tensor that requires grad (and, for add_/sub_/mul_/div_, on an operand that
// does); the result type must fit the tensor's dtype; an expanded tensor can only be filled.
#include "autograd/grad_mode.h"
#include "backends/backend.h"
#include "ops/elementwise.h"

namespace nabla {

namespace {
void check_inplace(const Tensor& self, const char* op) {
    if (autograd::is_grad_enabled() && self.requires_grad())
        throw Error(detail::concat(op, ": a tensor that requires grad ", self.shape(),
                                   " cannot be modified in place while grad mode is on (use NoGradGuard)"));
}

// An expanded tensor (stride 0 over a dim of size > 1) has several elements at one address: an op that reads what it
// writes would apply itself several times there (zeros(1).expand({3}).add_(1) would give 3). As PyTorch, only fill_
// (which writes one value everywhere) is allowed on it.
void check_no_internal_overlap(const Tensor& self, const char* op) {
    for (int64_t d = 0; d < self.dim(); ++d)
        if (self.strides()[d] == 0 && self.shape()[d] > 1)
            throw Error(detail::concat(op, ": more than one element of the written-to tensor ", self.shape(),
                                       " (strides ", self.strides(), ") refers to one memory location; clone() it"));
}
}  // namespace

Tensor& Tensor::fill_(double value) {
    check_inplace(*this, "fill_");
    backend_for(*this).fill_(*this, value);
    storage()->bump_version();
    return *this;
}

Tensor& Tensor::zero_() { return fill_(0.0); }

Tensor& Tensor::copy_(const Tensor& src) {
    check_inplace(*this, "copy_");
    check_no_internal_overlap(*this, "copy_");
    Shape bshape = broadcast_shapes(shape(), src.shape(), "copy_");
    NB_CHECK(bshape == shape(), "copy_: source ", src.shape(), " does not broadcast to destination ", shape());
    Tensor s = src.detach().expand(shape());
    // A device backend copies to and from the host; a host-to-host copy is the cpu backend's.
    Backend& b = device().is_cpu() ? backend_for(s) : backend_for(*this);
    b.copy_(*this, s);
    storage()->bump_version();
    return *this;
}

namespace {
// As PyTorch: the op's result type must fit in self (torch.can_cast: no floating result into an integer tensor, no
// non-bool result into a bool one), and an operand that requires grad is an error in grad mode, since in-place ops
// record no gradient and it would be lost silently.
Tensor& binary_inplace(Tensor& self, BinaryOp op, const Tensor& other, const char* name) {
    check_inplace(self, name);
    check_no_internal_overlap(self, name);
    if (autograd::is_grad_enabled() && other.requires_grad())
        throw Error(detail::concat(name, ": the operand ", other.shape(), " requires grad, but in-place ops record no ",
                                   "gradient (detach it, or use NoGradGuard)"));
    DType result = result_type(self, other);
    if (op == BinaryOp::Div && !is_floating(result)) result = kFloat32;
    if (!can_cast(result, self.dtype()))
        throw TypeError(detail::concat(name, ": result type ", dtype_name(result),
                                       " cannot be cast to the tensor's dtype ", dtype_name(self.dtype())));
    Tensor o = other.dtype() == self.dtype() ? other : other.to(self.dtype());
    Shape bshape = broadcast_shapes(self.shape(), o.shape(), name);
    NB_CHECK(bshape == self.shape(), name, ": the result of shape ", bshape, " does not fit in the tensor of shape ",
             self.shape());
    backend_for(self).binary(op, self, o.detach().expand(self.shape()), self);
    self.storage()->bump_version();
    return self;
}
}  // namespace

Tensor& Tensor::add_(const Tensor& other, double alpha) {
    return binary_inplace(*this, BinaryOp::Add, alpha == 1.0 ? other : nabla::mul(other, alpha), "add_");
}
Tensor& Tensor::add_(double value) { return binary_inplace(*this, BinaryOp::Add, scalar_for(*this, value), "add_"); }
Tensor& Tensor::sub_(const Tensor& other, double alpha) {
    return binary_inplace(*this, BinaryOp::Sub, alpha == 1.0 ? other : nabla::mul(other, alpha), "sub_");
}
Tensor& Tensor::mul_(const Tensor& other) { return binary_inplace(*this, BinaryOp::Mul, other, "mul_"); }
Tensor& Tensor::mul_(double value) { return binary_inplace(*this, BinaryOp::Mul, scalar_for(*this, value), "mul_"); }
Tensor& Tensor::div_(const Tensor& other) { return binary_inplace(*this, BinaryOp::Div, other, "div_"); }
Tensor& Tensor::div_(double value) { return binary_inplace(*this, BinaryOp::Div, scalar_for(*this, value), "div_"); }
Tensor& Tensor::clamp_(double min, double max) {
    check_inplace(*this, "clamp_");
    check_no_internal_overlap(*this, "clamp_");
    backend_for(*this).unary(UnaryOp::Clamp, *this, *this,
                             UnaryArgs::clamp(std::min(min, max), max));  // min > max: all max, as torch
    storage()->bump_version();
    return *this;
}

}  // namespace nabla
