// backends/reference/strided.h — walking tensors of any strides, the one loop nest the reference kernels share.
//   for_each_offset(out.shape(), {&out.strides(), &x.strides()}, [&](int64_t o, int64_t i) { y[o] = f(px[i]); });
// calls the function once per index of `shape` with each tensor's element offset (relative to its data_ptr).
// Broadcast inputs simply have stride 0 along the broadcast dims.
#pragma once
#include <array>
#include <cstdint>
#include <tuple>
#include <utility>

#include "core/shape.h"

namespace nabla {

template <size_t N, class F>
void for_each_offset(const Shape& shape, const std::array<const Shape*, N>& strides, F&& f) {
    const size_t nd = shape.size();
    for (int64_t s : shape)
        if (s == 0) return;
    std::array<int64_t, N> off{};
    Shape idx(nd, 0);
    while (true) {
        std::apply(f, off);
        // odometer: bump the last dim, carry into the ones before it
        size_t d = nd;
        while (d > 0) {
            --d;
            if (++idx[d] < shape[d]) {
                for (size_t k = 0; k < N; ++k) off[k] += (*strides[k])[d];
                break;
            }
            for (size_t k = 0; k < N; ++k) off[k] -= (*strides[k])[d] * (shape[d] - 1);
            idx[d] = 0;
            if (d == 0) return;
        }
        if (nd == 0) return;
    }
}

}  // namespace nabla
