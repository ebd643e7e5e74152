// backends/common/interpolate_math.h — the source-coordinate math of F.interpolate (nearest, bilinear, bicubic),
// written once for every backend: the reference and cpu kernels, and a future CUDA kernel (hence NB_HD).
// The rules are PyTorch 1.13's (docs/ops_semantics.md §1-2). For one axis of size in -> out
// with the ratio r the op layer resolved (UpsampleParams::scale_h/scale_w):
//   source coordinate of output index d:  x = r*d (align_corners)  or  x = r*(d + 0.5) - 0.5, clamped at 0 for linear
//   nearest (PyTorch's legacy 'nearest'):  i = min(floor(d*r), in-1), in float arithmetic for every dtype, as PyTorch
//   linear:  taps (i0, i1 = i0 + (i0 < in-1)) with weights (1-l, l), l = x - i0; an axis with in == out is copied
//   cubic:   taps i-1, i, i+1, i+2 clamped to [0, in-1], Keys weights with A = -0.75; i = min(floor(x), in-1) and
//            t = x - i clamped to [0, 1]; no copy shortcut (PyTorch interpolates even when in == out)
// Coordinates are computed in the scalar type T of the tensor (float for float32), as PyTorch's opmath does.
#pragma once
#include <cmath>
#include <cstdint>

#include "backends/common/params.h"
#include "backends/common/unary_math.h"  // NB_HD

namespace nabla {

// PyTorch's area_pixel_compute_source_index.
template <class T>
NB_HD inline T upsample_source_coord(T r, int64_t d, bool align_corners, bool cubic) {
    if (align_corners) return r * static_cast<T>(d);
    const T x = r * (static_cast<T>(d) + T(0.5)) - T(0.5);
    return (!cubic && x < T(0)) ? T(0) : x;
}

// PyTorch's nearest_idx: float math whatever the tensor's dtype, so float32 and float64 pick the same pixels.
NB_HD inline int64_t nearest_source_index(double r, int64_t d, int64_t in, int64_t out) {
    using std::floor;
    if (in == out) return d;
    const float x = static_cast<float>(d) * static_cast<float>(r);
    const int64_t i = static_cast<int64_t>(floor(x));
    return i < in - 1 ? i : in - 1;
}

template <class T>
struct LinearTaps {
    int64_t i0, i1;
    T w0, w1;
};

// PyTorch's compute_source_index_and_lambda.
template <class T>
NB_HD inline LinearTaps<T> linear_taps(T r, int64_t d, int64_t in, int64_t out, bool align_corners) {
    if (in == out) return {d, d, T(1), T(0)};  // PyTorch copies an axis whose size does not change
    const T x = upsample_source_coord(r, d, align_corners, /*cubic=*/false);
    int64_t i0 = static_cast<int64_t>(x);  // x >= 0, so this is floor
    if (i0 > in - 1) i0 = in - 1;
    const int64_t i1 = i0 + (i0 < in - 1 ? 1 : 0);
    T l = x - static_cast<T>(i0);
    l = l < T(0) ? T(0) : (l > T(1) ? T(1) : l);
    return {i0, i1, T(1) - l, l};
}

// Keys' cubic convolution kernel with A = -0.75: W1 for |t| <= 1, W2 for 1 < |t| < 2.
template <class T>
NB_HD inline T cubic_w1(T t) {
    constexpr T A = T(-0.75);
    return ((A + T(2)) * t - (A + T(3))) * t * t + T(1);
}
template <class T>
NB_HD inline T cubic_w2(T t) {
    constexpr T A = T(-0.75);
    return ((A * t - T(5) * A) * t + T(8) * A) * t - T(4) * A;
}

template <class T>
struct CubicTaps {
    int64_t idx[4];  // already clamped to [0, in-1]: border taps repeat the edge pixel
    T w[4];          // sum to 1
};

// PyTorch's guard_index_and_lambda + get_cubic_upsample_coefficients.
template <class T>
NB_HD inline CubicTaps<T> cubic_taps(T r, int64_t d, int64_t in, bool align_corners) {
    using std::floor;
    const T x = upsample_source_coord(r, d, align_corners, /*cubic=*/true);
    int64_t i = static_cast<int64_t>(floor(x));
    if (i > in - 1) i = in - 1;
    T t = x - static_cast<T>(i);
    t = t < T(0) ? T(0) : (t > T(1) ? T(1) : t);
    CubicTaps<T> c{};
    c.w[0] = cubic_w2(t + T(1));
    c.w[1] = cubic_w1(t);
    c.w[2] = cubic_w1(T(1) - t);
    c.w[3] = cubic_w2(T(2) - t);
    for (int k = 0; k < 4; ++k) {
        const int64_t j = i - 1 + k;
        c.idx[k] = j < 0 ? 0 : (j > in - 1 ? in - 1 : j);
    }
    return c;
}

// The 1-D taps of any mode: up to 4 (index, weight) pairs with y[d] = sum_k w[k] * x[idx[k]]. A 2-D output pixel is
// the separable product sum_a sum_b wy[a] wx[b] x[iy[a]][ix[b]]; the backward scatter-adds the same products.
template <class T>
struct UpsampleTaps {
    int n = 0;
    int64_t idx[4] = {0, 0, 0, 0};
    T w[4] = {T(0), T(0), T(0), T(0)};
};

template <class T>
NB_HD inline UpsampleTaps<T> upsample_taps(InterpolateMode mode, double r, int64_t d, int64_t in, int64_t out,
                                           bool align_corners) {
    UpsampleTaps<T> t;
    if (mode == InterpolateMode::Nearest) {
        t.n = 1;
        t.idx[0] = nearest_source_index(r, d, in, out);
        t.w[0] = T(1);
    } else if (mode == InterpolateMode::Bilinear) {
        const LinearTaps<T> l = linear_taps(static_cast<T>(r), d, in, out, align_corners);
        t.n = 2;
        t.idx[0] = l.i0, t.idx[1] = l.i1;
        t.w[0] = l.w0, t.w[1] = l.w1;
    } else {
        const CubicTaps<T> c = cubic_taps(static_cast<T>(r), d, in, align_corners);
        t.n = 4;
        for (int k = 0; k < 4; ++k) t.idx[k] = c.idx[k], t.w[k] = c.w[k];
    }
    return t;
}

}  // namespace nabla
