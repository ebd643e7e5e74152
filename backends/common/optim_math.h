// backends/common/optim_math.h — the per-element math of the fused optimizer kernels, written once for every backend:
// torch 1.13's single-tensor (foreach=False) SGD and Adam/AdamW (torch/optim/sgd.py, adam.py, adamw.py) and the
// weight average of ultralytics' ModelEMA (utils/torch_utils.py).
//
// torch runs these updates as a chain of tensor ops on the parameter's dtype T, each rounding its result, with the
// Python-number coefficients rounded to T first. The element functions below do the same operations in the same
// order, so that float32 updates round as torch's do:
//   exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)            m = m * T(b1) + T(1 - b1) * g
//   exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - b2)   v = v * T(b2) + T(1 - b2) * g * g
//   denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
//   param.addcdiv_(exp_avg, denom, value=-step_size)            p = p + T(-step_size) * m / denom
// (torch's vectorised add-with-alpha uses an FMA where the CPU has one, so its results can differ in the last bit.)
#pragma once
#include <cmath>
#include <type_traits>

#include "backends/common/unary_math.h"  // NB_HD

namespace nabla {

// a * b rounded on its own. nvcc fuses a * b + c into one FMA (one rounding) by default, which would make the CUDA
// kernels' updates differ in the last bit from the host's (the x86-64 baseline has no FMA); its _rn intrinsics are
// never fused. Every product below that feeds a sum goes through it. On the host it is the plain product.
template <class T>
NB_HD inline T mul_rn(T a, T b) {
#ifdef __CUDA_ARCH__
    if constexpr (std::is_same_v<T, float>)
        return __fmul_rn(a, b);
    else
        return __dmul_rn(a, b);
#else
    return a * b;
#endif
}

// --- the arguments of Backend::sgd_step / adam_step: one parameter group's hyperparameters, as doubles ---
struct SgdStepArgs {  // torch.optim.SGD
    double lr = 0, momentum = 0, dampening = 0, weight_decay = 0;
    bool nesterov = false, maximize = false;
    bool first_step = false;  // the momentum buffer is new: it starts as the gradient itself (torch.clone(d_p))
};

struct AdamStepArgs {  // torch.optim.Adam and AdamW
    double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
    double step = 1;                      // the parameter's step count including this step (1 on the first)
    bool decoupled_weight_decay = false;  // AdamW: p *= 1 - lr*wd, instead of Adam's L2 term g += wd*p
    bool maximize = false;
};

// --- the coefficients rounded to T, computed once per parameter ---
template <class T>
struct SgdCoeffs {
    T neg_lr, weight_decay, momentum, one_minus_dampening;
    bool nesterov, maximize, first_step;
};

template <class T>
NB_HD inline SgdCoeffs<T> sgd_coeffs(const SgdStepArgs& a) {
    return {T(-a.lr), T(a.weight_decay), T(a.momentum), T(1 - a.dampening), a.nesterov, a.maximize, a.first_step};
}

template <class T>
struct AdamCoeffs {
    T l2_weight_decay;  // Adam's weight decay (0 for AdamW)
    T decay_factor;     // AdamW's 1 - lr * weight_decay (1 for Adam)
    T beta1, one_minus_beta1, beta2, one_minus_beta2;
    T bias_correction2_sqrt, eps, neg_step_size;
    bool maximize;
};

// bias_correction1 = 1 - beta1^step, bias_correction2 = 1 - beta2^step, step_size = lr / bias_correction1, all in
// double as torch computes them in Python.
template <class T>
NB_HD inline AdamCoeffs<T> adam_coeffs(const AdamStepArgs& a) {
    const double bias_correction1 = 1 - std::pow(a.beta1, a.step);
    const double bias_correction2 = 1 - std::pow(a.beta2, a.step);
    const double step_size = a.lr / bias_correction1;
    return {T(a.decoupled_weight_decay ? 0.0 : a.weight_decay),
            T(a.decoupled_weight_decay ? 1 - a.lr * a.weight_decay : 1.0),
            T(a.beta1),
            T(1 - a.beta1),
            T(a.beta2),
            T(1 - a.beta2),
            T(std::sqrt(bias_correction2)),
            T(a.eps),
            T(-step_size),
            a.maximize};
}

// --- SGD: the direction d_p (maximize, then weight decay), the momentum buffer, the step ---
template <class T>
NB_HD inline T sgd_direction(T g, T p, const SgdCoeffs<T>& c) {
    if (c.maximize) g = -g;
    if (c.weight_decay != T(0)) g = g + mul_rn(c.weight_decay, p);  // d_p.add(param, alpha=weight_decay)
    return g;
}

// buf.mul_(momentum).add_(d_p, alpha=1 - dampening), then d_p.add(buf, alpha=momentum) with nesterov, else buf.
template <class T>
NB_HD inline T sgd_momentum(T d, T& buf, const SgdCoeffs<T>& c) {
    buf = c.first_step ? d : mul_rn(buf, c.momentum) + mul_rn(c.one_minus_dampening, d);
    return c.nesterov ? d + mul_rn(c.momentum, buf) : buf;
}

template <class T>
NB_HD inline T sgd_apply(T p, T d, const SgdCoeffs<T>& c) {
    return p + mul_rn(c.neg_lr, d);  // param.add_(d_p, alpha=-lr)
}

// --- Adam / AdamW ---
// torch.maximum: NaN if either is NaN.
template <class T>
NB_HD inline T nan_max(T a, T b) {
    return a != a ? a : (b != b ? b : (a > b ? a : b));
}

// Updates the moments of one element and returns the second moment the step divides by: exp_avg_sq, or with
// amsgrad the running maximum max_exp_avg_sq.
template <class T>
NB_HD inline T adam_moments(T g, T p, T& m, T& v, const AdamCoeffs<T>& c) {
    if (c.maximize) g = -g;
    if (c.l2_weight_decay != T(0)) g = g + mul_rn(c.l2_weight_decay, p);  // Adam: grad.add(param, alpha=weight_decay)
    m = mul_rn(m, c.beta1) + mul_rn(c.one_minus_beta1, g);
    v = mul_rn(v, c.beta2) + mul_rn(mul_rn(c.one_minus_beta2, g), g);
    return v;
}

// p after the decoupled decay (AdamW's param.mul_ happens before the moments; Adam's factor is 1) and the step.
template <class T>
NB_HD inline T adam_apply(T p, T m, T second_moment, const AdamCoeffs<T>& c) {
    const T decayed = c.decay_factor == T(1) ? p : mul_rn(p, c.decay_factor);
    const T denom = std::sqrt(second_moment) / c.bias_correction2_sqrt + c.eps;
    return decayed + mul_rn(c.neg_step_size, m) / denom;
}

// --- ModelEMA: v *= d; v += (1 - d) * model ---
template <class T>
NB_HD inline T ema_apply(T ema, T model, T decay, T one_minus_decay) {
    return mul_rn(ema, decay) + mul_rn(one_minus_decay, model);
}

}  // namespace nabla
