// backends/common/strided_index.h — turning a linear element number into element offsets of several strided tensors,
// the index math of every elementwise device kernel. It is plain __host__ __device__ code, so the CPU tests check
// it against the reference walk (tests/backends/test_strided_index.cpp) and the CUDA kernels use the same lines.
#pragma once
#include <cstdint>

#include "backends/common/unary_math.h"  // NB_HD

namespace nabla {

inline constexpr int kMaxDims = 8;

// Geometry of N tensors that share one shape (broadcast inputs have stride 0 where they repeat).
template <int N>
struct StridedIndexer {
    int ndim = 0;
    int64_t sizes[kMaxDims] = {};
    int64_t strides[N][kMaxDims] = {};

    // offsets[k] = sum_d idx_d * strides[k][d], where idx is the row-major multi-index of `linear`.
    NB_HD void offsets(int64_t linear, int64_t (&out)[N]) const {
        for (int k = 0; k < N; ++k) out[k] = 0;
        for (int d = ndim - 1; d >= 0; --d) {
            const int64_t i = linear % sizes[d];
            linear /= sizes[d];
            for (int k = 0; k < N; ++k) out[k] += i * strides[k][d];
        }
    }
};

}  // namespace nabla
