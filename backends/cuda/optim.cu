// backends/cuda/optim.cu — the fused SGD, Adam/AdamW and EMA updates: one thread per element in a grid-stride loop,
// each element read and written once per step. The math is backends/common/optim_math.h, the same lines the
// reference and cpu kernels run, with the coefficients rounded to T on the host (sgd_coeffs, adam_coeffs), so that
// the updates equal the host's bit for bit: its products go through mul_rn, which nvcc never fuses into an FMA, and
// float division and sqrt are IEEE-rounded (nvcc's defaults, -prec-div and -prec-sqrt).
// The switches that shape the loop (momentum, amsgrad) are template arguments.
#include <cuda_runtime.h>

#include "backends/common/optim_math.h"
#include "backends/cuda/launch.h"
#include "backends/cuda/optim.h"
#include "core/dtype.h"
#include "core/error.h"

namespace nabla::cuda {
namespace {

template <class T, bool kMomentum>
__global__ void sgd_kernel(T* __restrict__ p, const T* __restrict__ g, T* __restrict__ buf, int64_t n, SgdCoeffs<T> c) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x) {
        const T pi = p[i];
        T d = sgd_direction(g[i], pi, c);
        if constexpr (kMomentum) {
            T b = buf[i];
            d = sgd_momentum(d, b, c);
            buf[i] = b;
        }
        p[i] = sgd_apply(pi, d, c);
    }
}

template <class T, bool kAmsgrad>
__global__ void adam_kernel(T* __restrict__ p, const T* __restrict__ g, T* __restrict__ m, T* __restrict__ v,
                            T* __restrict__ vmax, int64_t n, AdamCoeffs<T> c) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x) {
        const T pi = p[i];
        T mi = m[i], vi = v[i];
        T second = adam_moments(g[i], pi, mi, vi, c);
        m[i] = mi;
        v[i] = vi;
        if constexpr (kAmsgrad) second = vmax[i] = nan_max(vmax[i], second);
        p[i] = adam_apply(pi, mi, second, c);
    }
}

template <class T>
__global__ void ema_kernel(T* __restrict__ ema, const T* __restrict__ model, int64_t n, T decay, T one_minus_decay) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x)
        ema[i] = ema_apply(ema[i], model[i], decay, one_minus_decay);
}

}  // namespace

void launch_sgd_step(DType dtype, void* param, const void* grad, void* momentum_buffer, int64_t n,
                     const SgdStepArgs& args) {
    Launch launch("sgd_step");
    dispatch_floating(dtype, "sgd_step", [&]<class T>() {
        const SgdCoeffs<T> c = sgd_coeffs<T>(args);
        T* p = static_cast<T*>(param);
        const T* g = static_cast<const T*>(grad);
        if (momentum_buffer)
            sgd_kernel<T, true>
                <<<blocks_for(n), kThreads, 0, launch.stream()>>>(p, g, static_cast<T*>(momentum_buffer), n, c);
        else
            sgd_kernel<T, false><<<blocks_for(n), kThreads, 0, launch.stream()>>>(p, g, nullptr, n, c);
    });
    launch.check();
}

void launch_adam_step(DType dtype, void* param, const void* grad, void* exp_avg, void* exp_avg_sq, void* max_exp_avg_sq,
                      int64_t n, const AdamStepArgs& args) {
    Launch launch("adam_step");
    dispatch_floating(dtype, "adam_step", [&]<class T>() {
        const AdamCoeffs<T> c = adam_coeffs<T>(args);  // on the host: std::pow and std::sqrt as the reference's
        T *p = static_cast<T*>(param), *m = static_cast<T*>(exp_avg), *v = static_cast<T*>(exp_avg_sq);
        const T* g = static_cast<const T*>(grad);
        if (max_exp_avg_sq)
            adam_kernel<T, true>
                <<<blocks_for(n), kThreads, 0, launch.stream()>>>(p, g, m, v, static_cast<T*>(max_exp_avg_sq), n, c);
        else
            adam_kernel<T, false><<<blocks_for(n), kThreads, 0, launch.stream()>>>(p, g, m, v, nullptr, n, c);
    });
    launch.check();
}

void launch_ema_update(DType dtype, void* ema, const void* model, int64_t n, double decay) {
    Launch launch("ema_update");
    dispatch_floating(dtype, "ema_update", [&]<class T>() {
        ema_kernel<T><<<blocks_for(n), kThreads, 0, launch.stream()>>>(
            static_cast<T*>(ema), static_cast<const T*>(model), n, T(decay), T(1 - decay));
    });
    launch.check();
}

}  // namespace nabla::cuda
