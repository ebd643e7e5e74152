// backends/cpu/elementwise.cpp — elementwise float32 ops as parallel loops the compiler vectorises.
//
// Any layout whose innermost dim is dense or broadcast in every operand (stride 1 or 0) runs fast: the dims are
// walked in the output's memory order (so a channels-last output runs as N, H, W, C), dims that can be merged are
// merged first (so a bias [1, C, 1, 1] expanded over [N, C, H, W] becomes N*C rows of H*W elements with a constant b
// per row, or N*H*W rows of C elements with b as a vector in channels-last), then each row is one tight loop. Other
// layouts and dtypes go to the reference kernels. The math is backends/common/*_math.h, the same as every backend's;
// the ops whose cost is a transcendental function go to oneDNN's vectorised eltwise primitives first
// (backends/cpu/eltwise_dnnl.cpp).
#include <algorithm>
#include <array>
#include <vector>

#include "backends/common/binary_math.h"
#include "backends/common/unary_math.h"
#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/eltwise_dnnl.h"
#include "backends/cpu/parallel.h"

namespace nabla {
namespace {

constexpr int64_t kGrain = 1 << 15;

// The geometry of K operands over one shape, with mergeable dims merged: rows of `inner` elements.
template <size_t K>
struct Rows {
    Shape outer_shape;  // the dims above the innermost one
    std::array<Shape, K> outer_strides;
    int64_t inner = 1;                    // elements per row
    std::array<int64_t, K> inner_stride;  // 0 or 1 per operand
    bool ok = false;                      // false when some operand's innermost stride is neither 0 nor 1
};

template <size_t K>
Rows<K> make_rows(const Shape& shape, const std::array<const Tensor*, K>& ts) {
    Rows<K> r;
    Shape sizes;
    std::array<Shape, K> strides;
    for (int64_t d : memory_order(ts[0]->strides())) {  // walked in the output's memory order
        if (shape[d] == 1) continue;                    // size-1 dims carry no information
        const bool merge = !sizes.empty() && [&] {
            for (size_t k = 0; k < K; ++k)
                if (strides[k].back() != ts[k]->strides()[d] * shape[d]) return false;
            return true;
        }();
        if (merge) {
            sizes.back() *= shape[d];
            for (size_t k = 0; k < K; ++k) strides[k].back() = ts[k]->strides()[d];
        } else {
            sizes.push_back(shape[d]);
            for (size_t k = 0; k < K; ++k) strides[k].push_back(ts[k]->strides()[d]);
        }
    }
    if (!sizes.empty()) {
        r.inner = sizes.back();
        sizes.pop_back();
    }
    r.ok = true;
    for (size_t k = 0; k < K; ++k) {
        r.inner_stride[k] = strides[k].empty() ? 0 : strides[k].back();
        if (r.inner_stride[k] != 0 && r.inner_stride[k] != 1 && r.inner > 1) r.ok = false;
        if (r.inner == 1) r.inner_stride[k] = 0;
        if (!strides[k].empty()) strides[k].pop_back();
        r.outer_strides[k] = strides[k];
    }
    r.outer_shape = sizes;
    return r;
}

// Calls row(offsets, n) for every row, rows split across threads; offsets[k] is operand k's row start. Long rows
// are cut into pieces of about kGrain elements, so one big contiguous tensor (a single row) still uses every thread.
// Each thread finds the outer index of its first row once and then steps it like an odometer: short rows (the C
// channels of one pixel of a sliced channels-last tensor) cost no divisions.
template <size_t K, class F>
void for_each_row(const Rows<K>& r, F&& row) {
    const int64_t rows = numel_of(r.outer_shape);
    const int64_t pieces = std::max<int64_t>(1, r.inner / kGrain);
    const int64_t piece_len = (r.inner + pieces - 1) / pieces;
    const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(piece_len, 1));
    const int64_t nd = static_cast<int64_t>(r.outer_shape.size());
    parallel_for(0, rows * pieces, grain, [&](int64_t begin, int64_t end) {
        Shape idx(static_cast<size_t>(nd));
        std::array<int64_t, K> base{};
        int64_t rem = begin / pieces;
        for (int64_t d = nd - 1; d >= 0; --d) {
            idx[d] = rem % r.outer_shape[d];
            rem /= r.outer_shape[d];
            for (size_t k = 0; k < K; ++k) base[k] += idx[d] * r.outer_strides[k][d];
        }
        std::array<int64_t, K> off{};
        for (int64_t w = begin; w < end; ++w) {
            const int64_t piece = pieces == 1 ? 0 : w % pieces;
            const int64_t start = piece * piece_len, n = std::min(piece_len, r.inner - start);
            for (size_t k = 0; k < K; ++k) off[k] = base[k] + start * r.inner_stride[k];
            row(off, n);
            if (piece != pieces - 1) continue;
            for (int64_t d = nd - 1; d >= 0; --d) {  // the next row
                for (size_t k = 0; k < K; ++k) base[k] += r.outer_strides[k][d];
                if (++idx[d] < r.outer_shape[d]) break;
                for (size_t k = 0; k < K; ++k) base[k] -= r.outer_strides[k][d] * r.outer_shape[d];
                idx[d] = 0;
            }
        }
    });
}

}  // namespace

void CpuBackend::unary(UnaryOp op, const Tensor& x, const Tensor& out, UnaryArgs args) {
    if (dnnl_util::eltwise_forward(op, x, out, args)) return;  // exp, log, sigmoid, tanh, silu, softplus
    auto r = make_rows<2>(out.shape(), {&out, &x});
    if (x.dtype() != kFloat32 || !r.ok || r.inner_stride[0] != 1 || r.inner_stride[1] != 1)
        return ReferenceBackend::unary(op, x, out, args);
    const float* px = x.data_ptr<float>();
    float* py = out.data_ptr<float>();
    const float a = static_cast<float>(args.a), b = static_cast<float>(args.b);
    visit_unary(op, [&]<UnaryOp Op>() {
        for_each_row(r, [&](const std::array<int64_t, 2>& o, int64_t n) {
            float* y = py + o[0];
            const float* xx = px + o[1];
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) y[i] = unary_fn<Op>(xx[i], a, b);
        });
    });
}

void CpuBackend::unary_backward(UnaryOp op, const Tensor& gy, const Tensor& saved, const Tensor& gx, UnaryArgs args) {
    if (dnnl_util::eltwise_backward(op, gy, saved, gx, args)) return;
    auto r = make_rows<3>(gx.shape(), {&gx, &gy, &saved});
    if (gy.dtype() != kFloat32 || !r.ok || r.inner_stride[0] != 1 || r.inner_stride[1] != 1 || r.inner_stride[2] != 1)
        return ReferenceBackend::unary_backward(op, gy, saved, gx, args);
    const float* pg = gy.data_ptr<float>();
    const float* ps = saved.data_ptr<float>();
    float* po = gx.data_ptr<float>();
    const float a = static_cast<float>(args.a), b = static_cast<float>(args.b);
    visit_unary(op, [&]<UnaryOp Op>() {
        for_each_row(r, [&](const std::array<int64_t, 3>& o, int64_t n) {
            float* out = po + o[0];
            const float* g = pg + o[1];
            const float* s = ps + o[2];
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) out[i] = g[i] * unary_grad<Op>(s[i], a, b);
        });
    });
}

void CpuBackend::binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
    auto r = make_rows<3>(out.shape(), {&out, &a, &b});
    if (a.dtype() != kFloat32 || is_comparison(op) || !r.ok || (r.inner_stride[0] != 1 && r.inner > 1))
        return ReferenceBackend::binary(op, a, b, out);
    const float* pa = a.data_ptr<float>();
    const float* pb = b.data_ptr<float>();
    float* po = out.data_ptr<float>();
    const bool da = r.inner_stride[1] == 1, db = r.inner_stride[2] == 1;
    visit_binary(op, [&]<BinaryOp Op>() {
        if constexpr (!is_comparison(Op)) {
            for_each_row(r, [&](const std::array<int64_t, 3>& o, int64_t n) {
                float* y = po + o[0];
                const float* x1 = pa + o[1];
                const float* x2 = pb + o[2];
                if (da && db) {
#pragma omp simd
                    for (int64_t i = 0; i < n; ++i) y[i] = binary_fn<Op>(x1[i], x2[i]);
                } else if (da) {
                    const float v = *x2;
#pragma omp simd
                    for (int64_t i = 0; i < n; ++i) y[i] = binary_fn<Op>(x1[i], v);
                } else if (db) {
                    const float v = *x1;
#pragma omp simd
                    for (int64_t i = 0; i < n; ++i) y[i] = binary_fn<Op>(v, x2[i]);
                } else {
                    std::fill(y, y + n, binary_fn<Op>(*x1, *x2));
                }
            });
        }
    });
}

}  // namespace nabla
