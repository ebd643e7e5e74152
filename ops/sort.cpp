// ops/sort.cpp — torch.sort (stable), argsort and topk (declared in ops/sort.h; kernels in backends/reference/sort.cpp).
//   x: [*pre, n, *post] -> values, indices: [*pre, n or k, *post]
// Backward: the values are x picked at the indices (a gather), so gx = zeros.scatter_add_(dim, indices, g).
// The indices carry no gradient.
#include "ops/sort.h"

#include <algorithm>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "core/factory.h"

namespace nabla {

namespace {
// Records values = gather(x, dim, indices) on the tape.
ValuesIndices record_picked(const char* name, const Tensor& x, int64_t dim, ValuesIndices r) {
    autograd::record(name, {x}, r.values,
                     [in = x.shape(), dim, si = autograd::save(r.indices)](const Tensor& g, const autograd::NeedsGrad&) {
                         Tensor gx = zeros(in, g.options());
                         backend_for(g).scatter_add_(gx, dim, si.get(), g);
                         return autograd::Grads{gx};
                     });
    return r;
}
}  // namespace

ValuesIndices sort(const Tensor& x, int64_t dim, bool descending) {
    if (x.dim() == 0) return {x.clone(), zeros({}, {.dtype = kInt64, .device = x.device()})};
    const int64_t d = wrap_dim(dim, x.dim(), "sort");
    return record_picked("sort", x, d, backend_for(x).sort(x, d, descending));
}

Tensor argsort(const Tensor& x, int64_t dim, bool descending) {
    NoGradGuard no_grad;
    return sort(x, dim, descending).indices;
}

ValuesIndices topk(const Tensor& x, int64_t k, int64_t dim, bool largest, bool sorted) {
    const int64_t d = wrap_dim(dim, std::max<int64_t>(x.dim(), 1), "topk");
    const int64_t n = x.dim() == 0 ? 1 : x.size(d);
    if (k < 0 || k > n)
        throw IndexError(detail::concat("topk: k = ", k, " is out of range for dimension ", d, " of size ", n, " in input ",
                                        x.shape()));
    if (x.dim() == 0) return {x.clone(), zeros({}, {.dtype = kInt64, .device = x.device()})};
    return record_picked("topk", x, d, backend_for(x).topk(x, k, d, largest, sorted));
}

}  // namespace nabla
