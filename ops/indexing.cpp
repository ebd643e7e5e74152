// ops/indexing.cpp — index_select, gather, scatter_add, masked_fill, masked_select, flip, and advanced indexing
// x[i0, ..., ik-1] (index) with its out-of-place assignment (index_put); declared in ops/indexing.h.
// Shapes are in the header; the kernels are backends/reference/indexing.cpp. Backward rules (gy = output gradient):
//   index_select: zeros.index_add_(dim, index, gy)     gather: zeros.scatter_add_(dim, index, gy)
//   scatter_add: x gets gy, src gets gather(gy, dim, index) (zeros where src is larger than index)
//   index: zeros.index_put_(indices, gy, accumulate=true), so repeated indices sum their gradients
//   index_put: x gets gy (with the written positions zeroed unless accumulate), values get sum_to(gy[indices])
//   flip: flip(gy)   masked_fill: composed of where   masked_select: composed of expand, reshape and index
#include "ops/indexing.h"

#include <algorithm>

#include "autograd/node.h"
#include "backends/backend.h"
#include "core/trace/trace.h"
#include "ops/elementwise.h"
#include "ops/factory.h"
#include "ops/reduce.h"

namespace nabla {

using autograd::Grads;
using autograd::NeedsGrad;
using autograd::save;

namespace {

void check_index_tensor(const char* op, const Tensor& index, const Tensor& x) {
    if (index.dtype() != kInt64)
        throw TypeError(
            detail::concat(op, ": expected an int64 index, got ", dtype_name(index.dtype()), " ", index.shape()));
    NB_CHECK(index.device() == x.device(), op, ": index on ", index.device(), " but input on ", x.device());
}

// The checks shared by gather and scatter_add: index has x's rank and does not exceed x outside dim.
void check_gather_shapes(const char* op, const Tensor& x, int64_t dim, const Tensor& index) {
    check_index_tensor(op, index, x);
    NB_CHECK(index.dim() == x.dim(), op, ": index ", index.shape(), " must have as many dims as the input ", x.shape());
    for (int64_t k = 0; k < x.dim(); ++k)
        NB_CHECK(k == dim || index.size(k) <= x.size(k), op, ": index ", index.shape(), " is larger than the input ",
                 x.shape(), " at dimension ", k);
}

// Checks k index tensors for x and broadcasts them to one shape (returned expanded, no copy).
std::vector<Tensor> broadcast_indices(const char* op, const Tensor& x, const std::vector<Tensor>& indices) {
    NB_CHECK(!indices.empty() && static_cast<int64_t>(indices.size()) <= x.dim(), op, ": expected 1 to ", x.dim(),
             " index tensors for a tensor ", x.shape(), ", got ", indices.size());
    Shape b = indices[0].shape();
    for (const Tensor& i : indices) {
        check_index_tensor(op, i, x);
        b = broadcast_shapes(b, i.shape(), op);
    }
    std::vector<Tensor> out;
    for (const Tensor& i : indices) out.push_back(i.expand(b));
    return out;
}

std::vector<Tensor> get_all(const std::vector<autograd::SavedTensor>& saved) {
    std::vector<Tensor> v;
    for (const auto& s : saved) v.push_back(s.get());
    return v;
}

std::vector<autograd::SavedTensor> save_all(const std::vector<Tensor>& ts) {
    std::vector<autograd::SavedTensor> v;
    for (const Tensor& t : ts) v.push_back(save(t));
    return v;
}

// t in the leading corner of a zero tensor of `shape` (t is nowhere larger than shape).
Tensor zero_padded_to(const Tensor& t, const Shape& shape) {
    if (t.shape() == shape) return t;
    Tensor out = zeros(shape, t.options());
    Tensor corner = out;
    for (int64_t k = 0; k < t.dim(); ++k) corner = corner.narrow(k, 0, t.size(k));
    corner.copy_(t);
    return out;
}

}  // namespace

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
    trace::OpScope ts("index_select", x, index);
    check_index_tensor("index_select", index, x);
    NB_CHECK(index.dim() <= 1, "index_select: index must be 0-D or 1-D, got ", index.shape());
    const int64_t d = wrap_dim(dim, x.dim(), "index_select");
    const Tensor idx = index.reshape({-1});
    Tensor y = backend_for(x).index_select(x, d, idx);  // [*pre, m, *post]
    autograd::record("index_select", {x}, y,
                     [x_shape = x.shape(), d, si = save(idx)](const Tensor& gy, const NeedsGrad&) {
                         Tensor gx = zeros(x_shape, gy.options());
                         backend_for(gy).index_add_(gx, d, si.get(), gy);
                         return Grads{gx};
                     });
    return y;
}

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
    trace::OpScope ts("gather", x, index);
    const int64_t d = wrap_dim(dim, x.dim(), "gather");
    check_gather_shapes("gather", x, d, index);
    Tensor y = backend_for(x).gather(x, d, index);  // index.shape
    autograd::record("gather", {x}, y, [x_shape = x.shape(), d, si = save(index)](const Tensor& gy, const NeedsGrad&) {
        Tensor gx = zeros(x_shape, gy.options());
        backend_for(gy).scatter_add_(gx, d, si.get(), gy);
        return Grads{gx};
    });
    return y;
}

Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
    const int64_t d = wrap_dim(dim, x.dim(), "scatter_add");
    check_gather_shapes("scatter_add", x, d, index);
    if (src.dtype() != x.dtype())
        throw TypeError(detail::concat("scatter_add: src is ", dtype_name(src.dtype()), " but the input is ",
                                       dtype_name(x.dtype())));
    NB_CHECK(src.dim() == index.dim(), "scatter_add: src ", src.shape(), " must have as many dims as index ",
             index.shape());
    for (int64_t k = 0; k < x.dim(); ++k)
        NB_CHECK(index.size(k) <= src.size(k), "scatter_add: index ", index.shape(), " is larger than src ",
                 src.shape(), " at dimension ", k);
    Tensor y = make_tensor(x.shape(), x.dtype(), x.device());
    backend_for(x).copy_(y, x);
    backend_for(x).scatter_add_(y, d, index, src);
    autograd::record("scatter_add", {x, src}, y,
                     [d, src_shape = src.shape(), si = save(index)](const Tensor& gy, const NeedsGrad& needs) {
                         // src beyond index's extent was never added, so its gradient there is zero
                         Tensor gsrc =
                             needs[1] ? zero_padded_to(backend_for(gy).gather(gy, d, si.get()), src_shape) : Tensor();
                         return Grads{needs[0] ? gy : Tensor(), gsrc};
                     });
    return y;
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
    if (mask.dtype() != kBool)
        throw TypeError(
            detail::concat("masked_fill: expected a bool mask, got ", dtype_name(mask.dtype()), " ", mask.shape()));
    NB_CHECK(broadcast_shapes(x.shape(), mask.shape(), "masked_fill") == x.shape(), "masked_fill: mask ", mask.shape(),
             " does not broadcast to the input ", x.shape());
    return where(mask, full({}, value, x.options()), x);
}

Tensor masked_select(const Tensor& x, const Tensor& mask) {
    if (mask.dtype() != kBool)
        throw TypeError(
            detail::concat("masked_select: expected a bool mask, got ", dtype_name(mask.dtype()), " ", mask.shape()));
    const Shape shape = broadcast_shapes(x.shape(), mask.shape(), "masked_select");
    const Tensor m = mask.expand(shape).to(kCPU).contiguous();  // the positions are read on the host
    std::vector<int64_t> positions;
    const bool* pm = m.data_ptr<bool>();
    for (int64_t i = 0; i < m.numel(); ++i)
        if (pm[i]) positions.push_back(i);
    const int64_t count = static_cast<int64_t>(positions.size());
    Tensor idx = from_vector(positions, {count}, {.dtype = kInt64, .device = x.device()});
    return index(x.expand(shape).reshape({-1}), {idx});
}

Tensor flip(const Tensor& x, const Shape& dims) {
    Shape wrapped;
    for (int64_t d : dims) wrapped.push_back(wrap_dim(d, x.dim(), "flip"));
    std::sort(wrapped.begin(), wrapped.end());
    NB_CHECK(std::adjacent_find(wrapped.begin(), wrapped.end()) == wrapped.end(), "flip: dims ", dims,
             " name a dim more than once for a tensor ", x.shape());
    Tensor y = backend_for(x).flip(x, wrapped);
    autograd::record("flip", {x}, y,
                     [wrapped](const Tensor& gy, const NeedsGrad&) { return Grads{flip(gy, wrapped)}; });
    return y;
}

Tensor index(const Tensor& x, const std::vector<Tensor>& indices) {
    const std::vector<Tensor> idx = broadcast_indices("index", x, indices);
    Tensor y = backend_for(x).index(x, idx);  // [*B, *x.shape[k:]]
    autograd::record("index", {x}, y, [x_shape = x.shape(), si = save_all(idx)](const Tensor& gy, const NeedsGrad&) {
        Tensor gx = zeros(x_shape, gy.options());
        backend_for(gy).index_put_(gx, get_all(si), gy, /*accumulate=*/true);
        return Grads{gx};
    });
    return y;
}

Tensor index_put(const Tensor& x, const std::vector<Tensor>& indices, const Tensor& values_in, bool accumulate) {
    const std::vector<Tensor> idx = broadcast_indices("index_put", x, indices);
    Shape indexed_shape = idx[0].shape();  // [*B, *x.shape[k:]]
    indexed_shape.insert(indexed_shape.end(), x.shape().begin() + static_cast<int64_t>(idx.size()), x.shape().end());
    NB_CHECK(broadcast_shapes(values_in.shape(), indexed_shape, "index_put") == indexed_shape, "index_put: values ",
             values_in.shape(), " cannot be broadcast to the indexed shape ", indexed_shape, " of input ", x.shape());
    const Tensor values = values_in.to(x.dtype());
    Tensor y = make_tensor(x.shape(), x.dtype(), x.device());
    backend_for(x).copy_(y, x);
    backend_for(x).index_put_(y, idx, values.detach().expand(indexed_shape), accumulate);
    autograd::record("index_put", {x, values}, y,
                     [accumulate, indexed_shape, values_shape = values.shape(), si = save_all(idx)](
                         const Tensor& gy, const NeedsGrad& needs) {
                         const std::vector<Tensor> ind = get_all(si);
                         Tensor gx, gvalues;
                         if (needs[0] && accumulate) gx = gy;
                         if (needs[0] && !accumulate) {  // overwritten positions do not depend on x
                             gx = gy.clone();
                             backend_for(gy).index_put_(gx, ind, zeros({}, gy.options()).expand(indexed_shape), false);
                         }
                         if (needs[1]) gvalues = sum_to(backend_for(gy).index(gy, ind), values_shape);
                         return Grads{gx, gvalues};
                     });
    return y;
}

}  // namespace nabla
