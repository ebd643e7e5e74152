// ops/softmax.cpp — torch.softmax and torch.log_softmax along one dim (any dim, negative counts from the end).
//   x: [*] -> y: [*] (same shape);  softmax y = exp(x - max) / sum exp(x - max),  log_softmax y = (x - max) - log sum exp(x - max)
// with max and sums over `dim`. Backward, from the saved output y only (sums over `dim`):
//   softmax:      dx = y * (dy - sum(y * dy))
//   log_softmax:  dx = dy - exp(y) * sum(dy)
// The kernels (backends/*/softmax.cpp) take contiguous tensors and return contiguous ones.
#include "ops/softmax.h"

#include "autograd/node.h"
#include "backends/backend.h"

namespace nabla {

using autograd::Grads;
using autograd::NeedsGrad;

namespace {

Tensor softmax_op(const char* name, bool log, const Tensor& x, int64_t dim) {
    NB_CHECK_VALUE(is_floating(x.dtype()), name, ": expected a float32 or float64 tensor, got ", dtype_name(x.dtype()),
                   " ", x.shape());
    dim = wrap_dim(dim, x.dim(), name);
    // A 0-dim tensor is a one-element row: softmax gives 1, log_softmax 0.
    const Tensor xk = x.dim() == 0 ? x.detach().reshape({1}) : x.detach().contiguous();
    Tensor y = backend_for(x).softmax(xk, dim, log);
    if (x.dim() == 0) y = y.view({});
    autograd::record(name, {x}, y, [dim, log, sy = autograd::save(y)](const Tensor& g, const NeedsGrad&) {
        const Tensor& yv = sy.get();
        const Tensor gk = yv.dim() == 0 ? g.reshape({1}) : g.contiguous();
        Tensor gx = backend_for(g).softmax_backward(gk, yv.dim() == 0 ? yv.reshape({1}) : yv, dim, log);
        return Grads{yv.dim() == 0 ? gx.view({}) : gx};
    });
    return y;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_op("softmax", false, x, dim); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_op("log_softmax", true, x, dim); }

}  // namespace nabla
