// backends/common/loss_math.h — the per-element math of the fused losses, shared by every backend (host and device).
//
// binary_cross_entropy_with_logits for a logit z, target t and positive weight pw (1 when absent), in PyTorch's
// stable form:
//   loss = (1 - t) z + lw softplus(-z),   lw = 1 + (pw - 1) t,   softplus(-z) = max(-z, 0) + log1p(exp(-|z|))
//   d loss / dz = (1 - t) - lw sigmoid(-z)            (= sigmoid(z) - t when pw = 1)
#pragma once
#include <cmath>

#include "backends/common/fast_math.h"

namespace nabla {

// exp and log1p come from fast_math.h, so that the float32 loops vectorise (float64 uses the C library).
template <class T>
NB_HD inline T bce_with_logits_fn(T z, T t, T pw) {
    const T abs_z = z < T(0) ? -z : z;
    const T softplus_neg = (z < T(0) ? -z : T(0)) + log1p_unit_of(exp_of(-abs_z));
    return (T(1) - t) * z + (T(1) + (pw - T(1)) * t) * softplus_neg;
}

template <class T>
NB_HD inline T bce_with_logits_grad(T z, T t, T pw) {
    const T e = exp_of(z < T(0) ? z : -z);  // exp(-|z|): sigmoid(-z) without overflow on either side
    const T sigmoid_neg = z > T(0) ? e / (T(1) + e) : T(1) / (T(1) + e);
    return (T(1) - t) - (T(1) + (pw - T(1)) * t) * sigmoid_neg;
}

}  // namespace nabla
