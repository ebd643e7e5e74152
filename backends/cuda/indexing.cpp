// backends/cuda/indexing.cpp — the CudaBackend methods of the indexing block (index_select / index_add_, gather /
// scatter_add_, index / index_put_, pad / pad_backward, flip): outputs allocated contiguous, index tensors made
// contiguous, and the geometry of the strided operands worked out for the kernels of indexing.cu. Inputs keep their
// strides (the indexers walk them), so a non-contiguous x costs no copy.
// Indices are only read on the device, so an out-of-range one raises nothing here (indexing.h says what it does);
// the reference backend, which reads them on the host, throws IndexError.
#include "backends/cuda/indexing.h"

#include <array>

#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/device.h"

namespace nabla {

namespace {

// The indexer over `shape` of N tensors with the given strides, with size-1 dims dropped and neighbouring dims
// merged where every tensor steps across them as across one dim: fewer divisions per element in the kernels, and
// most strided inputs collapse to one to three dims. (The linear numbering of the elements does not change.)
template <int N>
StridedIndexer<N> make_indexer(const Shape& shape, const std::array<Shape, N>& strides) {
    Shape sizes;
    std::array<Shape, N> st;
    for (size_t d = 0; d < shape.size(); ++d) {
        if (shape[d] == 1) continue;
        bool merge = !sizes.empty();
        for (int k = 0; k < N && merge; ++k) merge = st[k].back() == strides[k][d] * shape[d];
        if (merge) {
            sizes.back() *= shape[d];
            for (int k = 0; k < N; ++k) st[k].back() = strides[k][d];
        } else {
            sizes.push_back(shape[d]);
            for (int k = 0; k < N; ++k) st[k].push_back(strides[k][d]);
        }
    }
    NB_CHECK(static_cast<int>(sizes.size()) <= kMaxDims, "cuda: tensors of more than ", kMaxDims,
             " dims (after merging) are not supported, got ", shape);
    StridedIndexer<N> ix;
    ix.ndim = static_cast<int>(sizes.size());
    for (int d = 0; d < ix.ndim; ++d) {
        ix.sizes[d] = sizes[d];
        for (int k = 0; k < N; ++k) ix.strides[k][d] = st[k][d];
    }
    return ix;
}

Shape with_zero(Shape strides, int64_t dim) {  // the strides of a tensor walked with `dim` supplied by an index
    strides[dim] = 0;
    return strides;
}

int64_t numel_after(const Shape& shape, int64_t dim) {
    int64_t n = 1;
    for (size_t d = static_cast<size_t>(dim) + 1; d < shape.size(); ++d) n *= shape[d];
    return n;
}

const int64_t* index_data(const Tensor& index) { return index.data_ptr<int64_t>(); }  // checks int64

// The k index tensors of advanced indexing, contiguous (materialising their broadcast), and what the kernels read.
struct Indices {
    std::vector<Tensor> tensors;  // kept alive until the launch is queued
    cuda::AdvancedIndex ai;
};

Indices advanced_index(const Tensor& t, const std::vector<Tensor>& indices, const char* op) {
    NB_CHECK(static_cast<int>(indices.size()) <= kMaxDims, op, ": at most ", kMaxDims, " index tensors, got ",
             indices.size());
    Indices r;
    r.ai.k = static_cast<int>(indices.size());
    for (int j = 0; j < r.ai.k; ++j) {
        r.tensors.push_back(kernel::contiguous(indices[j]));
        r.ai.dims[j] = {index_data(r.tensors.back()), t.size(j), t.stride(j)};
    }
    return r;
}

// pad's geometry (also pad_backward's: `in` is the unpadded side, `out` the padded one), with the dims that are not
// padded merged where both sides are contiguous across them.
cuda::PadGeometry pad_geometry(const Shape& out_size, const Shape& in_size, const Shape& before, const Shape& in_stride,
                               const Shape& out_stride) {
    cuda::PadGeometry g;
    int nd = 0;
    for (size_t d = 0; d < out_size.size(); ++d) {
        const bool plain = before[d] == 0 && in_size[d] == out_size[d];  // read straight through
        if (plain && in_size[d] == 1) continue;
        const int p = nd - 1;
        if (plain && nd > 0 && g.before[p] == 0 && g.in_size[p] == g.out_size[p] &&
            g.in_stride[p] == in_stride[d] * in_size[d] && g.out_stride[p] == out_stride[d] * out_size[d]) {
            g.in_size[p] *= in_size[d];
            g.out_size[p] *= out_size[d];
            g.in_stride[p] = in_stride[d];
            g.out_stride[p] = out_stride[d];
            continue;
        }
        NB_CHECK(nd < kMaxDims, "pad: tensors of more than ", kMaxDims, " dims are not supported on cuda, got ",
                 out_size);
        g.out_size[nd] = out_size[d];
        g.in_size[nd] = in_size[d];
        g.before[nd] = before[d];
        g.in_stride[nd] = in_stride[d];
        g.out_stride[nd] = out_stride[d];
        ++nd;
    }
    g.ndim = nd;
    return g;
}

// The padding in front of each dim of an nd-dim tensor, from PyTorch's (last dim first) list; `after` likewise.
Shape pads_before(const Shape& pads, int64_t nd, bool after = false) {
    const int64_t m = static_cast<int64_t>(pads.size()) / 2;
    Shape b(static_cast<size_t>(nd), 0);
    for (int64_t d = 0; d < nd; ++d) {
        const int64_t k = nd - 1 - d;
        if (k < m) b[d] = pads[2 * k + (after ? 1 : 0)];
    }
    return b;
}

}  // namespace

Tensor CudaBackend::index_select(const Tensor& x, int64_t dim, const Tensor& index) {
    cuda::DeviceGuard guard(x.device());
    const Tensor idx = kernel::contiguous(index);
    Shape ys = x.shape();
    ys[dim] = idx.numel();
    Tensor y = kernel::empty(ys, x.options());
    if (y.numel() == 0) return y;
    cuda::launch_index_select(x.dtype(), x.raw_data(), make_indexer<1>(ys, {with_zero(x.strides(), dim)}),
                              {index_data(idx), x.size(dim), x.stride(dim)}, idx.numel(), numel_after(ys, dim),
                              y.raw_data(), y.numel());
    return y;
}

void CudaBackend::index_add_(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) {
    cuda::DeviceGuard guard(out.device());
    const Tensor idx = kernel::contiguous(index);
    NB_CHECK(idx.numel() == src.size(dim), "index_add_: ", idx.numel(), " indices for ", src.size(dim),
             " slices of src ", src.shape());
    if (src.numel() == 0) return;
    cuda::launch_index_add(out.dtype(), out.raw_data(),
                           make_indexer<2>(src.shape(), {with_zero(out.strides(), dim), src.strides()}),
                           {index_data(idx), out.size(dim), out.stride(dim)}, src.size(dim),
                           numel_after(src.shape(), dim), src.raw_data(), src.numel());
}

Tensor CudaBackend::gather(const Tensor& x, int64_t dim, const Tensor& index) {
    cuda::DeviceGuard guard(x.device());
    const Tensor idx = kernel::contiguous(index);
    Tensor y = kernel::empty(idx.shape(), x.options());
    if (y.numel() == 0) return y;
    cuda::launch_gather(x.dtype(), x.raw_data(), make_indexer<1>(idx.shape(), {with_zero(x.strides(), dim)}),
                        {index_data(idx), x.size(dim), x.stride(dim)}, y.raw_data(), y.numel());
    return y;
}

void CudaBackend::scatter_add_(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) {
    cuda::DeviceGuard guard(out.device());
    const Tensor idx = kernel::contiguous(index);
    if (idx.numel() == 0) return;
    cuda::launch_scatter_add(out.dtype(), out.raw_data(),
                             make_indexer<2>(idx.shape(), {with_zero(out.strides(), dim), src.strides()}),
                             {index_data(idx), out.size(dim), out.stride(dim)}, src.raw_data(), idx.numel());
}

Tensor CudaBackend::index(const Tensor& x, const std::vector<Tensor>& indices) {
    cuda::DeviceGuard guard(x.device());
    const int64_t k = static_cast<int64_t>(indices.size());
    const Shape rest(x.shape().begin() + k, x.shape().end()), rest_st(x.strides().begin() + k, x.strides().end());
    Shape ys = indices[0].shape();
    ys.insert(ys.end(), rest.begin(), rest.end());
    Tensor y = kernel::empty(ys, x.options());
    if (y.numel() == 0) return y;
    const Indices idx = advanced_index(x, indices, "index");
    cuda::launch_index(x.dtype(), x.raw_data(), idx.ai, make_indexer<1>(rest, {rest_st}), numel_of(rest), y.raw_data(),
                       y.numel());
    return y;
}

void CudaBackend::index_put_(const Tensor& out, const std::vector<Tensor>& indices, const Tensor& values,
                             bool accumulate) {
    // values: [*idx_shape, *rest], any strides (zero strides for a broadcast value)
    cuda::DeviceGuard guard(out.device());
    const int64_t k = static_cast<int64_t>(indices.size());
    const Shape rest(out.shape().begin() + k, out.shape().end()),
        rest_st(out.strides().begin() + k, out.strides().end());
    const int64_t positions = indices[0].numel(), r = numel_of(rest);
    if (positions == 0 || r == 0) return;
    int64_t prefix_numel = 1;
    for (int64_t d = 0; d < k; ++d) prefix_numel *= out.size(d);
    const Indices idx = advanced_index(out, indices, "index_put");
    const int64_t bytes = accumulate ? 0 : cuda::index_put_workspace_bytes(positions, prefix_numel);
    const Tensor workspace = bytes > 0 ? kernel::empty({bytes}, {.dtype = kUInt8, .device = out.device()}) : Tensor();
    cuda::launch_index_put(out.dtype(), out.raw_data(), idx.ai, make_indexer<1>(rest, {rest_st}), r, values.raw_data(),
                           make_indexer<1>(values.shape(), {values.strides()}), positions, prefix_numel, accumulate,
                           bytes > 0 ? workspace.raw_data() : nullptr, bytes);
}

Tensor CudaBackend::pad(const Tensor& x, const Shape& pads, PadMode mode, double value) {
    cuda::DeviceGuard guard(x.device());
    const int64_t nd = x.dim();
    const Shape before = pads_before(pads, nd), after = pads_before(pads, nd, /*after=*/true);
    Shape ys = x.shape();
    for (int64_t d = 0; d < nd; ++d) ys[d] += before[d] + after[d];
    Tensor y = kernel::empty(ys, x.options());
    if (y.numel() == 0) return y;
    cuda::launch_pad(x.dtype(), x.raw_data(), y.raw_data(),
                     pad_geometry(ys, x.shape(), before, x.strides(), y.strides()), mode, value, y.numel());
    return y;
}

Tensor CudaBackend::pad_backward(const Tensor& gy, const Shape& x_shape, const Shape& pads, PadMode mode) {
    cuda::DeviceGuard guard(gy.device());
    if (!is_floating(gy.dtype()))  // as the reference, which dispatches on the floating dtypes only
        throw TypeError(detail::concat("pad_backward: expected a floating dtype (float32 or float64), got ",
                                       dtype_name(gy.dtype())));
    const int64_t nd = static_cast<int64_t>(x_shape.size());
    const Shape before = pads_before(pads, nd);
    if (mode == PadMode::Constant) {
        // Each input element is read at most once, so the adjoint is a gather: gy cropped back by the padding (and
        // zero-filled where a negative pad had cropped x) — the pad of gy by the negated padding.
        Shape neg(before.size());
        for (size_t d = 0; d < before.size(); ++d) neg[d] = -before[d];
        Tensor gx = kernel::empty(x_shape, gy.options());
        if (gx.numel() == 0) return gx;
        cuda::launch_pad(gy.dtype(), gy.raw_data(), gx.raw_data(),
                         pad_geometry(x_shape, gy.shape(), neg, gy.strides(), gx.strides()), mode, 0.0, gx.numel());
        return gx;
    }
    Tensor gx = kernel::zeros(x_shape, gy.options());
    if (gy.numel() == 0 || gx.numel() == 0) return gx;
    cuda::launch_pad_backward(gy.dtype(), gy.raw_data(), gx.raw_data(),
                              pad_geometry(gy.shape(), x_shape, before, gx.strides(), gy.strides()), mode, gy.numel());
    return gx;
}

Tensor CudaBackend::flip(const Tensor& x, const Shape& dims) {
    // y[e] reads x through a view that walks the flipped dims backwards (negative strides)
    cuda::DeviceGuard guard(x.device());
    Tensor y = kernel::empty(x.shape(), x.options());
    if (y.numel() == 0) return y;
    Shape st = x.strides();
    int64_t first = 0;  // offset of the element that y[0] copies
    for (int64_t d : dims) {
        first += (x.size(d) - 1) * st[d];
        st[d] = -st[d];
    }
    const void* base = static_cast<const char*>(x.raw_data()) + first * static_cast<int64_t>(element_size(x.dtype()));
    cuda::launch_flip(x.dtype(), base, make_indexer<1>(x.shape(), {st}), y.raw_data(), y.numel());
    return y;
}

}  // namespace nabla
