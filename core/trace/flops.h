// core/trace/flops.h — FLOP counts the tracer records for its GFLOP/s column (torch.profiler's with_flops, which also
// counts only matmul- and conv-like ops). A multiply-add counts 2. Computed from the input shapes, only when traced;
// wrong or unusual shapes give 0, the op's own checks report them.
#pragma once
#include <algorithm>
#include <cstdint>

#include "core/shape.h"

namespace nabla::trace {

inline int64_t numel_of_shape(const Shape& s) {
    int64_t n = 1;
    for (int64_t d : s) n *= d;
    return n;
}

// a: [..., M, K] @ b: [..., K, N] -> 2 * batch * M * K * N (the larger operand carries the broadcast batch).
inline int64_t matmul_flops(const Shape& a, const Shape& b) {
    if (a.empty() || b.empty()) return 0;
    const int64_t m = a.size() >= 2 ? a[a.size() - 2] : 1, n = b.size() >= 2 ? b.back() : 1;
    return 2 * std::max(numel_of_shape(a) * n, numel_of_shape(b) * m);
}

// x: [N, C_in, H, W], w: [C_out, C_in/groups, kh, kw] -> 2 * N * C_out * OH * OW * C_in/groups * kh * kw.
template <class Options>
int64_t conv2d_flops(const Shape& x, const Shape& w, const Options& o) {
    if (x.size() != 4 || w.size() != 4 || o.stride.h <= 0 || o.stride.w <= 0) return 0;
    auto out = [](int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
        const int64_t span = in + 2 * p - d * (k - 1) - 1;
        return span < 0 ? 0 : span / s + 1;
    };
    const int64_t oh = out(x[2], w[2], o.stride.h, o.padding.h, o.dilation.h);
    const int64_t ow = out(x[3], w[3], o.stride.w, o.padding.w, o.dilation.w);
    return 2 * x[0] * w[0] * oh * ow * w[1] * w[2] * w[3];
}

// x: [N, C_in, H, W], w: [C_in, C_out/groups, kh, kw]: each input element meets C_out/groups * kh * kw weights.
inline int64_t conv_transpose2d_flops(const Shape& x, const Shape& w) {
    if (x.size() != 4 || w.size() != 4) return 0;
    return 2 * numel_of_shape(x) * w[1] * w[2] * w[3];
}

}  // namespace nabla::trace
