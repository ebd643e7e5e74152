// backends/reference/optim.cpp — the fused optimizer updates as plain loops over contiguous float and double data:
// the oracle of backends/cpu/optim.cpp. The per-element math is backends/common/optim_math.h (torch 1.13's
// single-tensor SGD and Adam/AdamW, ultralytics' ModelEMA).
#include "backends/common/optim_math.h"
#include "backends/reference/reference_backend.h"

namespace nabla {

void ReferenceBackend::sgd_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer,
                                const SgdStepArgs& args) {
    dispatch_floating(param.dtype(), "sgd_step", [&]<class T>() {
        const SgdCoeffs<T> c = sgd_coeffs<T>(args);
        T* p = param.data_ptr<T>();
        const T* g = grad.data_ptr<T>();
        T* buf = momentum_buffer.defined() ? momentum_buffer.data_ptr<T>() : nullptr;
        for (int64_t i = 0; i < param.numel(); ++i) {
            T d = sgd_direction(g[i], p[i], c);
            if (buf) d = sgd_momentum(d, buf[i], c);
            p[i] = sgd_apply(p[i], d, c);
        }
    });
}

void ReferenceBackend::adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                                 const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq, const AdamStepArgs& args) {
    dispatch_floating(param.dtype(), "adam_step", [&]<class T>() {
        const AdamCoeffs<T> c = adam_coeffs<T>(args);
        T* p = param.data_ptr<T>();
        const T* g = grad.data_ptr<T>();
        T *m = exp_avg.data_ptr<T>(), *v = exp_avg_sq.data_ptr<T>();
        T* vmax = max_exp_avg_sq.defined() ? max_exp_avg_sq.data_ptr<T>() : nullptr;
        for (int64_t i = 0; i < param.numel(); ++i) {
            T second = adam_moments(g[i], p[i], m[i], v[i], c);
            if (vmax) second = vmax[i] = nan_max(vmax[i], second);  // amsgrad
            p[i] = adam_apply(p[i], m[i], second, c);
        }
    });
}

void ReferenceBackend::ema_update(const Tensor& ema, const Tensor& model, double decay) {
    dispatch_floating(ema.dtype(), "ema_update", [&]<class T>() {
        T* e = ema.data_ptr<T>();
        const T* x = model.data_ptr<T>();
        for (int64_t i = 0; i < ema.numel(); ++i) e[i] = ema_apply(e[i], x[i], T(decay), T(1 - decay));
    });
}

}  // namespace nabla
