// backends/reference/indexing.cpp — index_select / index_add_, gather / scatter_add_, advanced indexing (index /
// index_put_), pad / pad_backward and flip, as plain loops over any strides (PyTorch's
// aten/native/TensorAdvancedIndexing and ReflectionPad/ReplicationPad/ConstantPadNd, written out).
//   index_select: y[p, i, q] = x[p, index[i], q]      index_add_: out[p, index[i], q] += src[p, i, q]
//   gather (dim 1): y[a][b][c] = x[a][index[a][b][c]][c]
//   scatter_add_ (dim 1): out[a][index[a][b][c]][c] += src[a][b][c]
//   index: y[p, r...] = x[i0[p], ..., ik-1[p], r...]  index_put_: out[i0[p], ..., r...] (+)= values[p, r...]
// Index values are only known here, so these kernels check them and throw IndexError naming the op; only `index`
// and `index_put_` wrap negative indices (as x[i] does in PyTorch; index_select and gather reject them).
// Padding maps each output coordinate to its source coordinate (or none, for constant fill): pad_source_index()
// (backends/common/pad_math.h, which the cuda kernels share).
// Longer than 250 lines because it holds the nine kernels of one backend.h block (indexing, pad, flip) together.
#include "backends/common/pad_math.h"
#include "backends/reference/reference_backend.h"
#include "backends/reference/strided.h"

namespace nabla {

namespace {

Shape without(const Shape& s, int64_t dim) {
    Shape r = s;
    r.erase(r.begin() + dim);
    return r;
}

// The int64 values of `index` in row-major order, checked against [-n, n) and wrapped (or against [0, n) without wrap).
std::vector<int64_t> read_index(const Tensor& index, int64_t n, bool wrap, const char* op, int64_t dim) {
    std::vector<int64_t> v;
    v.reserve(static_cast<size_t>(index.numel()));
    const int64_t* p = index.data_ptr<int64_t>();
    for_each_offset<1>(index.shape(), {&index.strides()}, [&](int64_t o) { v.push_back(p[o]); });
    for (int64_t& i : v) {
        if (i < -n || i >= n || (!wrap && i < 0))
            throw IndexError(
                detail::concat(op, ": index ", i, " is out of bounds for dimension ", dim, " with size ", n));
        if (i < 0) i += n;
    }
    return v;
}

// Element offsets of a tensor of `shape` and `strides`, in row-major order (the inner block of advanced indexing).
std::vector<int64_t> row_major_offsets(const Shape& shape, const Shape& strides) {
    std::vector<int64_t> v;
    v.reserve(static_cast<size_t>(numel_of(shape)));
    for_each_offset<1>(shape, {&strides}, [&](int64_t o) { v.push_back(o); });
    return v;
}

// Offset of the flat row-major position p of `shape` under `strides` (the first shape.size() entries of strides).
int64_t offset_of(int64_t p, const Shape& shape, const Shape& strides) {
    int64_t off = 0;
    for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
        off += (p % shape[d]) * strides[d];
        p /= shape[d];
    }
    return off;
}

// For advanced indexing: the offset in t (shape [n0, ..., nk-1, rest...]) of every indexed position p.
std::vector<int64_t> indexed_offsets(const Tensor& t, const std::vector<Tensor>& indices, const char* op) {
    std::vector<int64_t> base(static_cast<size_t>(indices[0].numel()), 0);
    for (size_t j = 0; j < indices.size(); ++j) {
        const int64_t dim = static_cast<int64_t>(j);
        const std::vector<int64_t> v = read_index(indices[j], t.size(dim), /*wrap=*/true, op, dim);
        for (size_t p = 0; p < v.size(); ++p) base[p] += v[p] * t.stride(dim);
    }
    return base;
}

// Per dim of x, the source index of every output position; out_shape receives the padded shape.
std::vector<std::vector<int64_t>> pad_maps(const Shape& x_shape, const Shape& pads, PadMode mode, Shape& out_shape) {
    const int64_t nd = static_cast<int64_t>(x_shape.size()), m = static_cast<int64_t>(pads.size()) / 2;
    std::vector<std::vector<int64_t>> maps(static_cast<size_t>(nd));
    out_shape = x_shape;
    for (int64_t d = 0; d < nd; ++d) {
        const int64_t k = nd - 1 - d;  // pads are listed from the last dim
        const int64_t before = k < m ? pads[2 * k] : 0, after = k < m ? pads[2 * k + 1] : 0;
        out_shape[d] = x_shape[d] + before + after;
        for (int64_t o = 0; o < out_shape[d]; ++o) maps[d].push_back(pad_source_index(o, x_shape[d], before, mode));
    }
    return maps;
}

}  // namespace

Tensor ReferenceBackend::index_select(const Tensor& x, int64_t dim, const Tensor& index) {
    const std::vector<int64_t> idx = read_index(index, x.size(dim), /*wrap=*/false, "index_select", dim);
    Shape ys = x.shape();
    ys[dim] = static_cast<int64_t>(idx.size());
    Tensor y = make_tensor(ys, x.dtype(), x.device());
    const Shape rest = without(ys, dim), xst = without(x.strides(), dim), yst = without(y.strides(), dim);
    dispatch_all(x.dtype(), [&]<class T>() {
        for (size_t i = 0; i < idx.size(); ++i) {  // y.select(dim, i) = x.select(dim, idx[i])
            const T* src = x.data_ptr<T>() + idx[i] * x.stride(dim);
            T* dst = y.data_ptr<T>() + static_cast<int64_t>(i) * y.stride(dim);
            for_each_offset<2>(rest, {&yst, &xst}, [&](int64_t o, int64_t s) { dst[o] = src[s]; });
        }
    });
    return y;
}

void ReferenceBackend::index_add_(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) {
    const std::vector<int64_t> idx = read_index(index, out.size(dim), /*wrap=*/false, "index_add_", dim);
    const Shape rest = without(src.shape(), dim), ost = without(out.strides(), dim), sst = without(src.strides(), dim);
    dispatch_all(out.dtype(), [&]<class T>() {
        for (size_t i = 0; i < idx.size(); ++i) {  // sequential: repeated indices accumulate
            T* dst = out.data_ptr<T>() + idx[i] * out.stride(dim);
            const T* s = src.data_ptr<T>() + static_cast<int64_t>(i) * src.stride(dim);
            for_each_offset<2>(rest, {&ost, &sst}, [&](int64_t o, int64_t j) { dst[o] += s[j]; });
        }
    });
}

Tensor ReferenceBackend::gather(const Tensor& x, int64_t dim, const Tensor& index) {
    // y: index.shape; walking index's shape, x's offset ignores `dim` (stride 0) and index supplies that coordinate
    Tensor y = make_tensor(index.shape(), x.dtype(), x.device());
    Shape xst = x.strides();
    xst[dim] = 0;
    const int64_t n = x.size(dim), step = x.stride(dim);
    dispatch_all(x.dtype(), [&]<class T>() {
        const T* px = x.data_ptr<T>();
        const int64_t* pi = index.data_ptr<int64_t>();
        T* py = y.data_ptr<T>();
        for_each_offset<3>(index.shape(), {&y.strides(), &index.strides(), &xst}, [&](int64_t o, int64_t i, int64_t s) {
            const int64_t k = pi[i];
            if (k < 0 || k >= n)
                throw IndexError(
                    detail::concat("gather: index ", k, " is out of bounds for dimension ", dim, " with size ", n));
            py[o] = px[s + k * step];
        });
    });
    return y;
}

void ReferenceBackend::scatter_add_(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) {
    Shape ost = out.strides();
    ost[dim] = 0;
    const int64_t n = out.size(dim), step = out.stride(dim);
    dispatch_all(out.dtype(), [&]<class T>() {
        T* po = out.data_ptr<T>();
        const int64_t* pi = index.data_ptr<int64_t>();
        const T* ps = src.data_ptr<T>();
        for_each_offset<3>(
            index.shape(), {&ost, &index.strides(), &src.strides()}, [&](int64_t o, int64_t i, int64_t s) {
                const int64_t k = pi[i];
                if (k < 0 || k >= n)
                    throw IndexError(detail::concat("scatter_add: index ", k, " is out of bounds for dimension ", dim,
                                                    " with size ", n));
                po[o + k * step] += ps[s];
            });
    });
}

Tensor ReferenceBackend::index(const Tensor& x, const std::vector<Tensor>& indices) {
    const int64_t k = static_cast<int64_t>(indices.size());
    const Shape rest(x.shape().begin() + k, x.shape().end()), rest_st(x.strides().begin() + k, x.strides().end());
    Shape ys = indices[0].shape();
    ys.insert(ys.end(), rest.begin(), rest.end());
    Tensor y = make_tensor(ys, x.dtype(), x.device());
    const std::vector<int64_t> base = indexed_offsets(x, indices, "index");
    const std::vector<int64_t> inner = row_major_offsets(rest, rest_st);
    const int64_t r = static_cast<int64_t>(inner.size());
    dispatch_all(x.dtype(), [&]<class T>() {
        const T* px = x.data_ptr<T>();
        T* py = y.data_ptr<T>();
        for (size_t p = 0; p < base.size(); ++p)
            for (int64_t j = 0; j < r; ++j) py[static_cast<int64_t>(p) * r + j] = px[base[p] + inner[j]];
    });
    return y;
}

void ReferenceBackend::index_put_(const Tensor& out, const std::vector<Tensor>& indices, const Tensor& values,
                                  bool accumulate) {
    // values: [*idx_shape, *rest], any strides (zero strides for a broadcast value)
    const int64_t k = static_cast<int64_t>(indices.size());
    const Shape& idx_shape = indices[0].shape();
    const int64_t ni = static_cast<int64_t>(idx_shape.size());
    const Shape rest(out.shape().begin() + k, out.shape().end());
    const std::vector<int64_t> base = indexed_offsets(out, indices, "index_put");
    const std::vector<int64_t> inner = row_major_offsets(rest, Shape(out.strides().begin() + k, out.strides().end()));
    const std::vector<int64_t> vinner =
        row_major_offsets(rest, Shape(values.strides().begin() + ni, values.strides().end()));
    const Shape vst(values.strides().begin(), values.strides().begin() + ni);
    dispatch_all(out.dtype(), [&]<class T>() {
        T* po = out.data_ptr<T>();
        const T* pv = values.data_ptr<T>();
        for (size_t p = 0; p < base.size(); ++p) {  // in order: accumulate sums repeats, assignment keeps the last
            const T* v = pv + offset_of(static_cast<int64_t>(p), idx_shape, vst);
            for (size_t j = 0; j < inner.size(); ++j) {
                T& o = po[base[p] + inner[j]];
                o = accumulate ? static_cast<T>(o + v[vinner[j]]) : v[vinner[j]];
            }
        }
    });
}

Tensor ReferenceBackend::pad(const Tensor& x, const Shape& pads, PadMode mode, double value) {
    Shape ys;
    const auto maps = pad_maps(x.shape(), pads, mode, ys);
    Tensor y = make_tensor(ys, x.dtype(), x.device());
    if (y.numel() == 0) return y;
    const int64_t nd = x.dim(), w = ys[nd - 1], rows = y.numel() / w;  // rows: all output dims but the last
    dispatch_all(x.dtype(), [&]<class T>() {
        const T* px = x.data_ptr<T>();
        T* py = y.data_ptr<T>();
        const T fill = static_cast<T>(value);
        const auto& last = maps[nd - 1];
#pragma omp parallel for if (y.numel() > (1 << 16))  // a parallel region costs more than a small pad
        for (int64_t r = 0; r < rows; ++r) {
            int64_t base = 0, rem = r;
            bool inside = true;  // false when some outer coordinate falls in the constant border
            for (int64_t d = nd - 2; d >= 0; --d) {
                const int64_t s = maps[d][rem % ys[d]];
                rem /= ys[d];
                inside = inside && s >= 0;
                base += s * x.stride(d);
            }
            T* row = py + r * w;
            for (int64_t j = 0; j < w; ++j)
                row[j] = inside && last[j] >= 0 ? px[base + last[j] * x.stride(nd - 1)] : fill;
        }
    });
    return y;
}

Tensor ReferenceBackend::pad_backward(const Tensor& gy, const Shape& x_shape, const Shape& pads, PadMode mode) {
    // gx[src(o)] += gy[o]: the adjoint of pad, summing where reflect/replicate read one source several times
    Shape ys;
    const auto maps = pad_maps(x_shape, pads, mode, ys);
    Tensor gx = make_tensor(x_shape, gy.dtype(), gy.device());
    fill_(gx, 0.0);
    if (gy.numel() == 0 || gx.numel() == 0) return gx;
    const int64_t nd = static_cast<int64_t>(x_shape.size()), w = ys[nd - 1], rows = gy.numel() / w;
    const Shape& xst = gx.strides();
    dispatch_floating(gy.dtype(), "pad_backward", [&]<class T>() {
        const T* pg = gy.data_ptr<T>();
        T* px = gx.data_ptr<T>();
        const auto& last = maps[nd - 1];
        for (int64_t r = 0; r < rows; ++r) {
            int64_t base = 0, gbase = 0, rem = r;
            bool inside = true;
            for (int64_t d = nd - 2; d >= 0; --d) {
                const int64_t o = rem % ys[d], s = maps[d][o];
                rem /= ys[d];
                inside = inside && s >= 0;
                base += s * xst[d];
                gbase += o * gy.stride(d);
            }
            if (!inside) continue;
            for (int64_t j = 0; j < w; ++j)
                if (last[j] >= 0) px[base + last[j]] += pg[gbase + j * gy.stride(nd - 1)];
        }
    });
    return gx;
}

Tensor ReferenceBackend::flip(const Tensor& x, const Shape& dims) {
    // a view of x that walks the flipped dims backwards (negative strides), copied out
    Shape st = x.strides();
    int64_t off = x.offset();
    for (int64_t d : dims) {
        if (x.size(d) == 0) return make_tensor(x.shape(), x.dtype(), x.device());
        off += (x.size(d) - 1) * st[d];
        st[d] = -st[d];
    }
    Tensor y = make_tensor(x.shape(), x.dtype(), x.device());
    copy_(y, make_view(x, x.shape(), st, off));
    return y;
}

}  // namespace nabla
