// backends/cuda/softmax.cu — softmax and log_softmax along one dim, and their backward, over [outer, n, inner].
//   inner = 1, n <= 1024 (512 in float64): a warp per row, the row held in registers: one read, one write.
//   inner = 1, longer rows: a block per row; the first pass keeps a running max and the sum of exp(x - max),
//       rescaled when the max grows (the "online" softmax), so x is read twice rather than three times.
//   inner > 1 (softmax over the channels of NCHW, over dim 0): a block of (bx, by) threads takes bx neighbouring
//       columns, each column's n elements shared by the by rows of threads and combined in shared memory; a warp
//       reads contiguous memory.
// The element math is in T with the sums accumulated in T across a tree of threads (as torch on CUDA); the reference
// accumulates in double. Edge cases follow the reference: a NaN anywhere in a row, or a +inf, makes the whole row
// NaN; a row of -inf is NaN.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "backends/cuda/launch.h"
#include "backends/cuda/softmax.h"
#include "core/dtype.h"
#include "core/error.h"

namespace nabla::cuda {
namespace {

template <class T>
struct Stats {  // forward: (max, sum of exp(x - max)); backward: (sum, unused)
    T a, b;
};

template <class T, bool Log>
struct Forward {
    using Value = T;
    using Elem = T;
    const T* x;
    T* y;

    __device__ Elem load(int64_t offset) const { return x[offset]; }
    __device__ static Stats<T> identity() { return {-std::numeric_limits<T>::infinity(), T(0)}; }
    // One element into the running (max, sum). A -inf adds nothing (also while the max is -inf, where
    // exp(-inf - -inf) would be NaN); a NaN makes the sum NaN.
    __device__ static Stats<T> add(Stats<T> s, T v) {
        using std::exp;
        if (v > s.a) {
            s.b = s.b * exp(s.a - v) + T(1);
            s.a = v;
        } else if (v != -std::numeric_limits<T>::infinity()) {
            s.b += exp(v - s.a);
        }
        return s;
    }
    // A side whose max is -inf has seen only -inf (b = 0) or a NaN (b = NaN): its b is taken as is, so a NaN that
    // a thread saw with no finite value still reaches the row's sum.
    __device__ static Stats<T> merge(Stats<T> p, Stats<T> q) {
        using std::exp;
        const T m = p.a > q.a ? p.a : q.a, ninf = -std::numeric_limits<T>::infinity();
        return {m, (p.a == ninf ? p.b : p.b * exp(p.a - m)) + (q.a == ninf ? q.b : q.b * exp(q.a - m))};
    }
    // Then b is what each element divides by (softmax) or subtracts (log_softmax). A +inf max gives NaN, as
    // exp(inf - inf) does in the reference's sum.
    __device__ static Stats<T> finish(Stats<T> s) {
        using std::log;
        if (s.a == std::numeric_limits<T>::infinity()) s.b = std::numeric_limits<T>::quiet_NaN();
        if constexpr (Log) s.b = log(s.b);
        return s;
    }
    __device__ void store(int64_t offset, Elem v, Stats<T> s) const {
        using std::exp;
        y[offset] = Log ? (v - s.a) - s.b : exp(v - s.a) / s.b;
    }
};

template <class T, bool Log>
struct Backward {
    using Value = T;
    struct Elem {
        T g, y;
    };
    const T* gy;
    const T* y;
    T* gx;

    __device__ Elem load(int64_t offset) const { return {gy[offset], y[offset]}; }
    __device__ static Stats<T> identity() { return {T(0), T(0)}; }
    __device__ static Stats<T> add(Stats<T> s, Elem e) {  // log_softmax: sum(gy); softmax: sum(y gy)
        s.a += Log ? e.g : e.y * e.g;
        return s;
    }
    __device__ static Stats<T> merge(Stats<T> p, Stats<T> q) { return {p.a + q.a, T(0)}; }
    __device__ static Stats<T> finish(Stats<T> s) { return s; }
    __device__ void store(int64_t offset, Elem e, Stats<T> s) const {
        using std::exp;
        gx[offset] = Log ? e.g - exp(e.y) * s.a : e.y * (e.g - s.a);
    }
};

template <class T>
__device__ inline Stats<T> shfl_down(Stats<T> s, int d) {
    return {__shfl_down_sync(0xffffffffu, s.a, d), __shfl_down_sync(0xffffffffu, s.b, d)};
}

// The merged statistics of the warp, in every lane.
template <class P, class S>
__device__ S warp_all(S s) {
    for (int d = 16; d > 0; d /= 2) s = P::merge(s, shfl_down(s, d));
    return {__shfl_sync(0xffffffffu, s.a, 0), __shfl_sync(0xffffffffu, s.b, 0)};
}

// The merged statistics of the block, in every thread (each merges the warps' results in the same order).
template <class P, class S>
__device__ S block_all(S s, S* warps) {
    for (int d = 16; d > 0; d /= 2) s = P::merge(s, shfl_down(s, d));
    if (threadIdx.x % 32 == 0) warps[threadIdx.x / 32] = s;
    __syncthreads();
    s = warps[0];
    for (int w = 1; w < kThreads / 32; ++w) s = P::merge(s, warps[w]);
    __syncthreads();  // `warps` is reused by the next row
    return s;
}

// inner = 1, n <= 32 kPerLane: a warp per row; lane l holds elements l, l + 32, ...
template <class P, int kPerLane>
__global__ void __launch_bounds__(kThreads) softmax_warp_kernel(P p, int64_t rows, int n) {
    constexpr int kWarps = kThreads / 32;
    const int lane = threadIdx.x % 32;
    for (int64_t row = int64_t(blockIdx.x) * kWarps + threadIdx.x / 32; row < rows;
         row += int64_t(gridDim.x) * kWarps) {
        const int64_t base = row * n;
        typename P::Elem e[kPerLane];
#pragma unroll
        for (int k = 0; k < kPerLane; ++k)
            if (lane + 32 * k < n) e[k] = p.load(base + lane + 32 * k);
        auto s = P::identity();
#pragma unroll
        for (int k = 0; k < kPerLane; ++k)
            if (lane + 32 * k < n) s = P::add(s, e[k]);
        s = P::finish(warp_all<P>(s));
#pragma unroll
        for (int k = 0; k < kPerLane; ++k)
            if (lane + 32 * k < n) p.store(base + lane + 32 * k, e[k], s);
    }
}

// inner = 1, long rows: a block per row, two passes over it.
template <class P>
__global__ void __launch_bounds__(kThreads) softmax_block_kernel(P p, int64_t rows, int64_t n) {
    using S = decltype(P::identity());
    __shared__ S warps[kThreads / 32];
    for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {  // uniform over the block
        const int64_t base = row * n;
        S s = P::identity();
        int64_t k = threadIdx.x;
        for (; k + 3 * kThreads < n; k += 4 * kThreads) {  // four loads in flight
            const auto e0 = p.load(base + k), e1 = p.load(base + k + kThreads), e2 = p.load(base + k + 2 * kThreads),
                       e3 = p.load(base + k + 3 * kThreads);
            s = P::add(P::add(P::add(P::add(s, e0), e1), e2), e3);
        }
        for (; k < n; k += kThreads) s = P::add(s, p.load(base + k));
        s = P::finish(block_all<P>(s, warps));
        for (k = threadIdx.x; k < n; k += kThreads) p.store(base + k, p.load(base + k), s);
    }
}

// inner > 1: block (bx, by) over bx neighbouring columns of one o; column i's elements are k * inner apart.
template <class P>
__global__ void __launch_bounds__(kThreads)
    softmax_strided_kernel(P p, int64_t outer, int64_t n, int64_t inner, int64_t col_blocks) {
    using S = decltype(P::identity());
    __shared__ S rows[kThreads];  // [by][bx]
    const int bx = blockDim.x, by = blockDim.y, tx = threadIdx.x, ty = threadIdx.y;
    for (int64_t b = blockIdx.x; b < outer * col_blocks; b += gridDim.x) {  // uniform over the block
        const int64_t o = b / col_blocks, i = (b % col_blocks) * bx + tx;
        const int64_t base = o * n * inner + i;
        S s = P::identity();
        if (i < inner) {
            int64_t k = ty;
            for (; k + 3 * by < n; k += 4 * by) {
                const auto e0 = p.load(base + k * inner), e1 = p.load(base + (k + by) * inner),
                           e2 = p.load(base + (k + 2 * by) * inner), e3 = p.load(base + (k + 3 * by) * inner);
                s = P::add(P::add(P::add(P::add(s, e0), e1), e2), e3);
            }
            for (; k < n; k += by) s = P::add(s, p.load(base + k * inner));
        }
        rows[ty * bx + tx] = s;
        __syncthreads();
        for (int step = 1; step < by; step *= 2) {  // a tree over the rows of threads (by need not be a power of 2)
            if (ty % (2 * step) == 0 && ty + step < by)
                rows[ty * bx + tx] = P::merge(rows[ty * bx + tx], rows[(ty + step) * bx + tx]);
            __syncthreads();
        }
        s = P::finish(rows[tx]);
        if (i < inner)
            for (int64_t k = ty; k < n; k += by) p.store(base + k * inner, p.load(base + k * inner), s);
        __syncthreads();  // `rows` is reused by the next block of columns
    }
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
unsigned grid_for(int64_t blocks) { return static_cast<unsigned>(std::clamp<int64_t>(blocks, 1, 65535)); }

// bx neighbouring columns by by rows of threads: a warp spans whole rows of 32 columns, or several short rows of
// inner < 32; a short n gives the threads to more columns instead.
dim3 column_block(int64_t inner, int64_t n) {
    if (inner >= 32) {
        const int64_t by = std::min<int64_t>(n, 8);
        return dim3(static_cast<unsigned>(std::min<int64_t>(ceil_div(inner, 32) * 32, kThreads / by / 32 * 32)),
                    static_cast<unsigned>(by));
    }
    return dim3(static_cast<unsigned>(inner), static_cast<unsigned>(std::min<int64_t>(kThreads / inner, n)));
}

template <class P>
void run(const char* name, const P& p, int64_t outer, int64_t n, int64_t inner) {
    // a row in registers: 32 elements a lane in float32, 16 in float64 (twice the registers each)
    constexpr int kMaxPerLane = sizeof(typename P::Value) == 4 ? 32 : 16;
    Launch launch(name);
    const cudaStream_t stream = launch.stream();
    if (inner == 1 && n <= 32 * kMaxPerLane) {
        const unsigned grid = grid_for(ceil_div(outer, kThreads / 32));
        const int len = static_cast<int>(n);
        auto warp = [&]<int K>() { softmax_warp_kernel<P, K><<<grid, kThreads, 0, stream>>>(p, outer, len); };
        if (n <= 32)
            warp.template operator()<1>();
        else if (n <= 64)
            warp.template operator()<2>();
        else if (n <= 128)
            warp.template operator()<4>();
        else if (n <= 256)
            warp.template operator()<8>();
        else if (n <= 512)
            warp.template operator()<16>();
        else if constexpr (kMaxPerLane == 32)
            warp.template operator()<32>();
    } else if (inner == 1) {
        softmax_block_kernel<P><<<grid_for(outer), kThreads, 0, stream>>>(p, outer, n);
    } else {
        const dim3 block = column_block(inner, n);
        const int64_t col_blocks = ceil_div(inner, block.x);
        softmax_strided_kernel<P><<<grid_for(outer * col_blocks), block, 0, stream>>>(p, outer, n, inner, col_blocks);
    }
    launch.check();
}

}  // namespace

void launch_softmax(DType dtype, bool log, const void* x, void* y, int64_t outer, int64_t n, int64_t inner) {
    dispatch_floating(dtype, log ? "log_softmax" : "softmax", [&]<class T>() {
        const T* px = static_cast<const T*>(x);
        T* py = static_cast<T*>(y);
        if (log)
            run("log_softmax", Forward<T, true>{px, py}, outer, n, inner);
        else
            run("softmax", Forward<T, false>{px, py}, outer, n, inner);
    });
}

void launch_softmax_backward(DType dtype, bool log, const void* gy, const void* y, void* gx, int64_t outer, int64_t n,
                             int64_t inner) {
    dispatch_floating(dtype, log ? "log_softmax_backward" : "softmax_backward", [&]<class T>() {
        const T *pg = static_cast<const T*>(gy), *py = static_cast<const T*>(y);
        T* pgx = static_cast<T*>(gx);
        if (log)
            run("log_softmax_backward", Backward<T, true>{pg, py, pgx}, outer, n, inner);
        else
            run("softmax_backward", Backward<T, false>{pg, py, pgx}, outer, n, inner);
    });
}

}  // namespace nabla::cuda
