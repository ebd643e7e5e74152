// backends/common/norm_act_math.h — the activation that batch norm applies in its own kernel (NormAct, for
// ops/batch_norm.h batch_norm_act: relu(bn(x)) or silu(bn(x)) in one pass), and its derivative, both in terms of the
// pre-activation z = (x - mean) * invstd * weight + bias, which the backward recomputes from x rather than keeping.
// Host and device; float uses the vectorisable exp of fast_math.h, double the C library's.
//   relu(z) = max(z, 0) (NaN stays NaN), relu'(z) = [z > 0]        (torch's relu' is [y > 0], the same set)
//   silu(z) = z sigmoid(z),              silu'(z) = s (1 + z (1 - s)) with s = sigmoid(z)
#pragma once
#include "backends/common/fast_math.h"
#include "backends/common/params.h"

namespace nabla {

template <NormAct A, class T>
NB_HD inline T norm_act(T z) {
    if constexpr (A == NormAct::Relu)
        return z > T(0) ? z : (z != z ? z : T(0));
    else if constexpr (A == NormAct::Silu)
        return z / (T(1) + exp_of(-z));
    else
        return z;
}

template <NormAct A, class T>
NB_HD inline T norm_act_grad(T z) {
    if constexpr (A == NormAct::Relu) {
        return z > T(0) ? T(1) : T(0);
    } else if constexpr (A == NormAct::Silu) {
        const T s = T(1) / (T(1) + exp_of(-z));
        return s * (T(1) + z * (T(1) - s));
    } else {
        return T(1);
    }
}

// A runtime NormAct as a compile-time one, once per kernel call: visit_norm_act(act, [&]<NormAct A>() { ... });
template <class F>
void visit_norm_act(NormAct act, F&& f) {
    switch (act) {
        case NormAct::None: return f.template operator()<NormAct::None>();
        case NormAct::Relu: return f.template operator()<NormAct::Relu>();
        case NormAct::Silu: return f.template operator()<NormAct::Silu>();
    }
}

}  // namespace nabla
