// backends/common/pool_math.h — the window arithmetic of the pooling ops, shared by every backend (host and device):
// which input rows/columns an output's window covers, which element wins max_pool2d, and what the average divides
// by (PyTorch's rules, docs/ops_semantics.md §7: a window is clipped to the input for the sum, and to input+padding
// for the count_include_pad divisor).
#pragma once
#include <cstdint>

#include "backends/common/params.h"
#include "backends/common/unary_math.h"  // NB_HD

namespace nabla {

// max_pool2d's window of output (oh, ow): f(h, w) for each tap inside the H x W input, in window order (kernel row
// after kernel row), the order in which the first of equal maxima wins.
template <class F>
NB_HD inline void for_each_max_tap(int64_t oh, int64_t ow, int64_t H, int64_t W, const PoolParams& p, F&& f) {
    for (int64_t i = 0; i < p.kernel_size.h; ++i) {
        const int64_t h = oh * p.stride.h - p.padding.h + i * p.dilation.h;
        if (h < 0 || h >= H) continue;
        for (int64_t j = 0; j < p.kernel_size.w; ++j) {
            const int64_t w = ow * p.stride.w - p.padding.w + j * p.dilation.w;
            if (w >= 0 && w < W) f(h, w);
        }
    }
}

// Whether v takes the running maximum's place: strictly larger, or NaN (a NaN wins and propagates), as PyTorch.
template <class T>
NB_HD inline bool max_wins(T v, T best) {
    return v > best || v != v;
}

// avg_pool2d's window of output `o` along one axis: the clipped range [lo, hi) and its length clipped to
// input+padding only.
struct AvgWindow {
    int64_t lo, hi, padded_len;
};

NB_HD inline AvgWindow avg_window(int64_t o, int64_t in, int64_t k, int64_t s, int64_t p) {
    const int64_t start = o * s - p;
    const int64_t end = start + k < in + p ? start + k : in + p;
    return {start > 0 ? start : 0, end < in ? end : in, end - start};
}

// What an avg_pool2d window divides by: its size up to the padding, or only its input elements.
NB_HD inline int64_t avg_divisor(const AvgWindow& wh, const AvgWindow& ww, bool count_include_pad) {
    return count_include_pad ? wh.padded_len * ww.padded_len : (wh.hi - wh.lo) * (ww.hi - ww.lo);
}

// adaptive_avg_pool2d's window of output i along an axis of `in` inputs and `out` outputs (PyTorch's start/end index
// rule): [floor(i*in/out), ceil((i+1)*in/out)). Swapping in and out gives the outputs whose windows hold input i.
NB_HD inline int64_t adaptive_start(int64_t i, int64_t in, int64_t out) { return (i * in) / out; }
NB_HD inline int64_t adaptive_end(int64_t i, int64_t in, int64_t out) { return ((i + 1) * in + out - 1) / out; }

}  // namespace nabla
