// backends/cpu/optim.cpp — the fused optimizer updates as OpenMP-parallel loops the compiler vectorises, for
// contiguous float32 and float64 data. Each parameter is read and written once per step (param, grad and the state
// tensors), where the chain of tensor ops torch runs makes a pass per op. The per-element math is
// backends/common/optim_math.h, the same as the reference kernels', so both give identical bits.
// The switches that decide the shape of the loop (momentum, amsgrad) are template arguments, so every loop the
// vectoriser sees is branch-free apart from the selects of the math itself.
#include "backends/common/optim_math.h"
#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/parallel.h"

namespace nabla {
namespace {

constexpr int64_t kGrain = 1 << 14;

template <class T, bool kMomentum>
void sgd_loop(int64_t n, T* p, const T* g, T* buf, const SgdCoeffs<T> c) {
    parallel_for(0, n, kGrain, [=](int64_t begin, int64_t end) {
        const SgdCoeffs<T> k = c;  // a local copy: stores through p cannot alias it, so its fields stay in registers
#pragma omp simd
        for (int64_t i = begin; i < end; ++i) {
            T d = sgd_direction(g[i], p[i], k);
            if constexpr (kMomentum) d = sgd_momentum(d, buf[i], k);
            p[i] = sgd_apply(p[i], d, k);
        }
    });
}

template <class T, bool kAmsgrad>
void adam_loop(int64_t n, T* p, const T* g, T* m, T* v, T* vmax, const AdamCoeffs<T> c) {
    parallel_for(0, n, kGrain, [=](int64_t begin, int64_t end) {
        const AdamCoeffs<T> k = c;
#pragma omp simd
        for (int64_t i = begin; i < end; ++i) {
            T second = adam_moments(g[i], p[i], m[i], v[i], k);
            if constexpr (kAmsgrad) second = vmax[i] = nan_max(vmax[i], second);
            p[i] = adam_apply(p[i], m[i], second, k);
        }
    });
}

}  // namespace

void CpuBackend::sgd_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer,
                          const SgdStepArgs& args) {
    dispatch_floating(param.dtype(), "sgd_step", [&]<class T>() {
        const SgdCoeffs<T> c = sgd_coeffs<T>(args);
        if (momentum_buffer.defined())
            sgd_loop<T, true>(param.numel(), param.data_ptr<T>(), grad.data_ptr<T>(), momentum_buffer.data_ptr<T>(), c);
        else
            sgd_loop<T, false>(param.numel(), param.data_ptr<T>(), grad.data_ptr<T>(), nullptr, c);
    });
}

void CpuBackend::adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                           const Tensor& max_exp_avg_sq, const AdamStepArgs& args) {
    dispatch_floating(param.dtype(), "adam_step", [&]<class T>() {
        const AdamCoeffs<T> c = adam_coeffs<T>(args);
        T *p = param.data_ptr<T>(), *m = exp_avg.data_ptr<T>(), *v = exp_avg_sq.data_ptr<T>();
        const T* g = grad.data_ptr<T>();
        if (max_exp_avg_sq.defined())
            adam_loop<T, true>(param.numel(), p, g, m, v, max_exp_avg_sq.data_ptr<T>(), c);
        else
            adam_loop<T, false>(param.numel(), p, g, m, v, nullptr, c);
    });
}

void CpuBackend::ema_update(const Tensor& ema, const Tensor& model, double decay) {
    dispatch_floating(ema.dtype(), "ema_update", [&]<class T>() {
        T* e = ema.data_ptr<T>();
        const T* x = model.data_ptr<T>();
        const T d = T(decay), one_minus_d = T(1 - decay);
        parallel_for(0, ema.numel(), kGrain, [=](int64_t begin, int64_t end) {
#pragma omp simd
            for (int64_t i = begin; i < end; ++i) e[i] = ema_apply(e[i], x[i], d, one_minus_d);
        });
    });
}

}  // namespace nabla
