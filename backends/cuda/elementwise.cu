// backends/cuda/elementwise.cu — elementwise kernels: a grid-stride loop over the output's elements, any strides.
// The per-element math is the same header the cpu backends use (backends/common/unary_math.h, binary_math.h).
#include <cuda_runtime.h>

#include "backends/common/binary_math.h"
#include "backends/common/unary_math.h"
#include "backends/cuda/elementwise.h"
#include "backends/cuda/launch.h"
#include "core/error.h"

namespace nabla::cuda {
namespace {

template <class D, class S>
__global__ void copy_kernel(D* dst, const S* src, StridedIndexer<2> ix, int64_t n) {
    for (int64_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x) {
        int64_t o[2];
        ix.offsets(i, o);
        dst[o[0]] = convert_element<D>(src[o[1]]);  // constexpr: callable on the device (--expt-relaxed-constexpr)
    }
}

template <class T>
__global__ void fill_kernel(T* dst, StridedIndexer<1> ix, int64_t n, T value) {
    for (int64_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x) {
        int64_t o[1];
        ix.offsets(i, o);
        dst[o[0]] = value;
    }
}

template <UnaryOp Op, class T>
__global__ void unary_kernel(const T* x, T* y, StridedIndexer<2> ix, int64_t n, T a, T b) {
    for (int64_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x) {
        int64_t o[2];
        ix.offsets(i, o);
        y[o[0]] = unary_fn<Op>(x[o[1]], a, b);
    }
}

template <UnaryOp Op, class T>
__global__ void unary_backward_kernel(const T* gy, const T* saved, T* gx, StridedIndexer<3> ix, int64_t n, T a, T b) {
    for (int64_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x) {
        int64_t o[3];
        ix.offsets(i, o);
        gx[o[0]] = gy[o[1]] * unary_grad<Op>(saved[o[2]], a, b);
    }
}

template <BinaryOp Op, class T, class R>
__global__ void binary_kernel(const T* a, const T* b, R* out, StridedIndexer<3> ix, int64_t n) {
    for (int64_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x) {
        int64_t o[3];
        ix.offsets(i, o);
        out[o[0]] = binary_fn<Op, T>(a[o[1]], b[o[2]]);
    }
}

template <class T>
__global__ void where_kernel(const bool* c, const T* a, const T* b, T* out, StridedIndexer<4> ix, int64_t n) {
    for (int64_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x) {
        int64_t o[4];
        ix.offsets(i, o);
        out[o[0]] = c[o[1]] ? a[o[2]] : b[o[3]];
    }
}

}  // namespace

void launch_fill(DType dtype, void* dst, const StridedIndexer<1>& ix, int64_t n, double value) {
    Launch launch("fill_");
    dispatch_all(dtype, [&]<class T>() {
        fill_kernel<T>
            <<<blocks_for(n), kThreads, 0, launch.stream()>>>(static_cast<T*>(dst), ix, n, convert_element<T>(value));
    });
    launch.check();
}

void launch_copy(DType dd, void* dst, DType sd, const void* src, const StridedIndexer<2>& ix, int64_t n) {
    Launch launch("copy_");
    dispatch_all(dd, [&]<class D>() {
        dispatch_all(sd, [&]<class S>() {
            copy_kernel<D, S><<<blocks_for(n), kThreads, 0, launch.stream()>>>(static_cast<D*>(dst),
                                                                               static_cast<const S*>(src), ix, n);
        });
    });
    launch.check();
}

void launch_unary(UnaryOp op, DType dtype, const void* x, void* y, const StridedIndexer<2>& ix, int64_t n,
                  UnaryArgs args) {
    Launch launch("unary");
    dispatch_floating(dtype, "unary", [&]<class T>() {
        visit_unary(op, [&]<UnaryOp Op>() {
            unary_kernel<Op, T><<<blocks_for(n), kThreads, 0, launch.stream()>>>(
                static_cast<const T*>(x), static_cast<T*>(y), ix, n, static_cast<T>(args.a), static_cast<T>(args.b));
        });
    });
    launch.check();
}

void launch_unary_backward(UnaryOp op, DType dtype, const void* gy, const void* saved, void* gx,
                           const StridedIndexer<3>& ix, int64_t n, UnaryArgs args) {
    Launch launch("unary_backward");
    dispatch_floating(dtype, "unary_backward", [&]<class T>() {
        visit_unary(op, [&]<UnaryOp Op>() {
            unary_backward_kernel<Op, T><<<blocks_for(n), kThreads, 0, launch.stream()>>>(
                static_cast<const T*>(gy), static_cast<const T*>(saved), static_cast<T*>(gx), ix, n,
                static_cast<T>(args.a), static_cast<T>(args.b));
        });
    });
    launch.check();
}

void launch_binary(BinaryOp op, DType dtype, const void* a, const void* b, void* out, const StridedIndexer<3>& ix,
                   int64_t n) {
    Launch launch("binary");
    dispatch_all(dtype, [&]<class T>() {
        visit_binary(op, [&]<BinaryOp Op>() {
            using R = decltype(binary_fn<Op, T>(T{}, T{}));
            binary_kernel<Op, T, R><<<blocks_for(n), kThreads, 0, launch.stream()>>>(
                static_cast<const T*>(a), static_cast<const T*>(b), static_cast<R*>(out), ix, n);
        });
    });
    launch.check();
}

void launch_where(DType dtype, const bool* cond, const void* a, const void* b, void* out, const StridedIndexer<4>& ix,
                  int64_t n) {
    Launch launch("where");
    dispatch_all(dtype, [&]<class T>() {
        where_kernel<T><<<blocks_for(n), kThreads, 0, launch.stream()>>>(
            cond, static_cast<const T*>(a), static_cast<const T*>(b), static_cast<T*>(out), ix, n);
    });
    launch.check();
}

}  // namespace nabla::cuda
