// backends/common/fast_math.h — exp and log1p for float32 written so that a compiler vectorises loops calling them
// (the C library's expf/log1pf are scalar calls). Accurate to a few ulp; NaN propagates. Used by the fused loss
// kernels through exp_of/log1p_of, which keep the C library for float64.
//
// exp(x) = 2^n exp(r) with n = round(x / ln 2) and r = x - n ln 2 in [-ln2/2, ln2/2] (ln 2 split in two parts so
//   that n ln 2 is exact), exp(r) by its Taylor polynomial to r^7, and 2^n built in the exponent bits.
// log1p(y) = 2 atanh(s) with s = y / (2 + y): for y in [0, 1] s is at most 1/3 and the odd series of atanh
//   converges to float precision by s^13; y / (2 + y) keeps full precision for tiny y, unlike log(1 + y).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "backends/common/unary_math.h"  // NB_HD

namespace nabla {

NB_HD inline float exp_f32(float x) {
    if (x != x) return x;
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    const float n = (x * 1.44269504f + 12582912.0f) - 12582912.0f;  // round to nearest with the 1.5 * 2^23 trick
    float r = x - n * 0.693145751953125f;
    r = r - n * 1.428606765330187e-06f;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;  // 2^n
    float scale;
    std::memcpy(&scale, &bits, sizeof(scale));
    return p * scale;
}

// log(1 + y) for y in [0, 1] (what softplus needs: y = exp(-|z|)).
NB_HD inline float log1p_unit_f32(float y) {
    const float s = y / (2.0f + y), s2 = s * s;
    float p = 1.0f / 13.0f;
    p = p * s2 + 1.0f / 11.0f;
    p = p * s2 + 1.0f / 9.0f;
    p = p * s2 + 1.0f / 7.0f;
    p = p * s2 + 1.0f / 5.0f;
    p = p * s2 + 1.0f / 3.0f;
    p = p * s2 + 1.0f;
    return 2.0f * s * p;
}

template <class T>
NB_HD inline T exp_of(T x) {
    if constexpr (std::is_same_v<T, float>)
        return exp_f32(x);
    else
        return std::exp(x);
}

template <class T>
NB_HD inline T log1p_unit_of(T y) {
    if constexpr (std::is_same_v<T, float>)
        return log1p_unit_f32(y);
    else
        return std::log1p(y);
}

}  // namespace nabla
