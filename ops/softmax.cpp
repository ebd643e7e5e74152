// ops/softmax.cpp — torch.softmax and torch.log_softmax along one dim (any dim, negative counts from the end).
//   x: [*] -> y: [*] (same shape)
//   softmax:      y = exp(x - max) / sum exp(x - max)
//   log_softmax:  y = (x - max) - log sum exp(x - max)
// with max and sums over `dim` (docs/ops_semantics.md §8). Backward, from the saved output y only (sums over `dim`):
//   softmax:      gx = y * (gy - sum(y * gy))
//   log_softmax:  gx = gy - exp(y) * sum(gy)
// The kernels (backends/*/softmax.cpp) take contiguous tensors and return contiguous ones.
#include "ops/softmax.h"

#include "autograd/node.h"
#include "backends/backend.h"
#include "core/trace/trace.h"

namespace nabla {

using autograd::Grads;
using autograd::NeedsGrad;
using autograd::save;

namespace {

// What the kernels take: t contiguous, a 0-dim t as the one-element row [1] (softmax gives 1, log_softmax 0).
Tensor kernel_input(const Tensor& t) { return t.dim() == 0 ? t.reshape({1}) : t.contiguous(); }

Tensor softmax_op(const char* op, bool log, const Tensor& x, int64_t dim) {
    trace::OpScope ts(op, x);
    NB_CHECK_VALUE(is_floating(x.dtype()), op, ": expected a floating tensor, got ", dtype_name(x.dtype()), " ",
                   x.shape());
    dim = wrap_dim(dim, x.dim(), op);
    Tensor y = backend_for(x).softmax(kernel_input(x.detach()), dim, log);  // x's shape, or [1] for a 0-dim x
    if (x.dim() == 0) y = y.view({});
    autograd::record(op, {x}, y, [dim, log, sy = save(y)](const Tensor& gy, const NeedsGrad&) {
        const Tensor& yv = sy.get();
        Tensor gx = backend_for(gy).softmax_backward(kernel_input(gy), kernel_input(yv), dim, log);
        return Grads{yv.dim() == 0 ? gx.view({}) : gx};
    });
    return y;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_op("softmax", false, x, dim); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_op("log_softmax", true, x, dim); }

}  // namespace nabla
