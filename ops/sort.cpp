// ops/sort.cpp — torch.sort (stable), argsort and topk (kernels in backends/reference/sort.cpp).
//   x: [*pre, n, *post] -> values, indices: [*pre, n or k, *post]; a 0-dim x is its own sort.
// Backward: the values are x picked at the indices (a gather), so gx = zeros.scatter_add_(dim, indices, gy).
// The indices carry no gradient.
#include "ops/sort.h"

#include <algorithm>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "backends/backend.h"
#include "ops/factory.h"

namespace nabla {

using autograd::Grads;
using autograd::NeedsGrad;
using autograd::save;

namespace {

// Records values = gather(x, dim, indices) on the tape.
ValuesIndices record_picked(const char* op, const Tensor& x, int64_t dim, ValuesIndices r) {
    autograd::record(op, {x}, r.values,
                     [x_shape = x.shape(), dim, si = save(r.indices)](const Tensor& gy, const NeedsGrad&) {
                         Tensor gx = zeros(x_shape, gy.options());
                         backend_for(gy).scatter_add_(gx, dim, si.get(), gy);
                         return Grads{gx};
                     });
    return r;
}

ValuesIndices sort_of_scalar(const Tensor& x) {
    return {x.clone(), zeros({}, {.dtype = kInt64, .device = x.device()})};
}

}  // namespace

ValuesIndices sort(const Tensor& x, int64_t dim, bool descending) {
    if (x.dim() == 0) return sort_of_scalar(x);
    const int64_t d = wrap_dim(dim, x.dim(), "sort");
    return record_picked("sort", x, d, backend_for(x).sort(x, d, descending));
}

Tensor argsort(const Tensor& x, int64_t dim, bool descending) {
    NoGradGuard no_grad;  // only the indices are returned: nothing to record
    return sort(x, dim, descending).indices;
}

ValuesIndices topk(const Tensor& x, int64_t k, int64_t dim, bool largest, bool sorted) {
    const int64_t d = wrap_dim(dim, std::max<int64_t>(x.dim(), 1), "topk");  // a 0-dim x takes dim 0 or -1
    const int64_t n = x.dim() == 0 ? 1 : x.size(d);
    if (k < 0 || k > n)
        throw IndexError(detail::concat("topk: k = ", k, " is out of range for dimension ", d, " of size ", n,
                                        " in input ", x.shape()));
    if (x.dim() == 0) return sort_of_scalar(x);
    return record_picked("topk", x, d, backend_for(x).topk(x, k, d, largest, sorted));
}

}  // namespace nabla
