// backends/cuda/loss.cu — binary_cross_entropy_with_logits and its backward, one thread per element in a grid-stride
// loop; the per-element math is backends/common/loss_math.h, as on the host. Flat kernels for dense or one-value
// operands, strided ones (StridedIndexer) for the rest, such as a pos_weight [C] expanded over [N, C].
#include <cuda_runtime.h>

#include "backends/common/loss_math.h"
#include "backends/cuda/launch.h"
#include "backends/cuda/loss.h"
#include "core/dtype.h"
#include "core/error.h"

namespace nabla::cuda {
namespace {

template <class T, bool kPw>
__global__ void bce_flat_kernel(const T* x, const T* t, const T* pw, T* y, int64_t n, BceSteps s) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x)
        y[i] = bce_with_logits_fn(x[i * s.x], t[i * s.t], kPw ? pw[i * s.pw] : T(1));
}

template <class T, bool kPw>
__global__ void bce_strided_kernel(const T* x, const T* t, const T* pw, T* y, int64_t n, StridedIndexer<4> ix) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x) {
        int64_t o[4];
        ix.offsets(i, o);
        y[o[0]] = bce_with_logits_fn(x[o[1]], t[o[2]], kPw ? pw[o[3]] : T(1));
    }
}

template <class T, bool kPw>
__global__ void bce_backward_flat_kernel(const T* gy, const T* x, const T* t, const T* pw, T* gx, int64_t n,
                                         BceSteps s) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x)
        gx[i] = gy[i * s.gy] * bce_with_logits_grad(x[i * s.x], t[i * s.t], kPw ? pw[i * s.pw] : T(1));
}

template <class T, bool kPw>
__global__ void bce_backward_strided_kernel(const T* gy, const T* x, const T* t, const T* pw, T* gx, int64_t n,
                                            StridedIndexer<5> ix) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x) {
        int64_t o[5];
        ix.offsets(i, o);
        gx[o[0]] = gy[o[1]] * bce_with_logits_grad(x[o[2]], t[o[3]], kPw ? pw[o[4]] : T(1));
    }
}

// Calls f.template operator()<T, kPw>() for the dtype and whether there is a pos_weight.
template <class F>
void dispatch(DType dtype, const char* op, const void* pw, F&& f) {
    dispatch_floating(dtype, op, [&]<class T>() {
        if (pw)
            f.template operator()<T, true>();
        else
            f.template operator()<T, false>();
    });
}

}  // namespace

void launch_bce_with_logits(DType dtype, const void* x, const void* t, const void* pw, void* y, int64_t n,
                            const BceSteps& steps) {
    Launch launch("bce_with_logits");
    dispatch(dtype, "bce_with_logits", pw, [&]<class T, bool kPw>() {
        bce_flat_kernel<T, kPw>
            <<<blocks_for(n), kThreads, 0, launch.stream()>>>(static_cast<const T*>(x), static_cast<const T*>(t),
                                                              static_cast<const T*>(pw), static_cast<T*>(y), n, steps);
    });
    launch.check();
}

void launch_bce_with_logits(DType dtype, const void* x, const void* t, const void* pw, void* y, int64_t n,
                            const StridedIndexer<4>& ix) {
    Launch launch("bce_with_logits");
    dispatch(dtype, "bce_with_logits", pw, [&]<class T, bool kPw>() {
        bce_strided_kernel<T, kPw><<<blocks_for(n), kThreads, 0, launch.stream()>>>(
            static_cast<const T*>(x), static_cast<const T*>(t), static_cast<const T*>(pw), static_cast<T*>(y), n, ix);
    });
    launch.check();
}

void launch_bce_with_logits_backward(DType dtype, const void* gy, const void* x, const void* t, const void* pw,
                                     void* gx, int64_t n, const BceSteps& steps) {
    Launch launch("bce_with_logits_backward");
    dispatch(dtype, "bce_with_logits_backward", pw, [&]<class T, bool kPw>() {
        bce_backward_flat_kernel<T, kPw><<<blocks_for(n), kThreads, 0, launch.stream()>>>(
            static_cast<const T*>(gy), static_cast<const T*>(x), static_cast<const T*>(t), static_cast<const T*>(pw),
            static_cast<T*>(gx), n, steps);
    });
    launch.check();
}

void launch_bce_with_logits_backward(DType dtype, const void* gy, const void* x, const void* t, const void* pw,
                                     void* gx, int64_t n, const StridedIndexer<5>& ix) {
    Launch launch("bce_with_logits_backward");
    dispatch(dtype, "bce_with_logits_backward", pw, [&]<class T, bool kPw>() {
        bce_backward_strided_kernel<T, kPw><<<blocks_for(n), kThreads, 0, launch.stream()>>>(
            static_cast<const T*>(gy), static_cast<const T*>(x), static_cast<const T*>(t), static_cast<const T*>(pw),
            static_cast<T*>(gx), n, ix);
    });
    launch.check();
}

}  // namespace nabla::cuda
