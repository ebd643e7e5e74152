// backends/common/pool_math.h — the window arithmetic of avg_pool2d, shared by every backend (host and device):
// which input rows/columns an output's window covers, and what the average divides by (PyTorch's rules,
// docs/ops_semantics.md §7: a window is clipped to the input for the sum, and to input+padding for the
// count_include_pad divisor).
#pragma once
#include <cstdint>

#include "backends/common/unary_math.h"  // NB_HD

namespace nabla {

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

}  // namespace nabla
