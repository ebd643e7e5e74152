// backends/cuda/batch_norm.cu — batch norm kernels (F.batch_norm, and batch_norm_act's fused relu/silu), forward and
// backward, on contiguous [N, C, *] tensors read as [N, C, S]. Same math as backends/reference/batch_norm.cpp (the
// oracle; ops/batch_norm.cpp writes it out):
//   forward, training: batch_norm_collect_statistics, one block per channel: each thread sums (x - K) and (x - K)²
//     in double over its share of the channel's N*S values (K = its own first value, so the squares do not cancel
//     when |mean| >> std), turns them into (count, mean, M2) and the block merges those with Chan's parallel
//     Welford combination (warp shuffles, then one warp over the warps' results). One read of x, statistics in
//     double as the reference's. Thread 0 then updates the running stats and writes save_mean / save_invstd.
//   forward, eval: batch_norm_running_statistics, a thread per channel.
//   then batch_norm_elemt: y = act(z), z = (x - mean) * invstd * weight + bias from the saved (rounded) statistics,
//     one thread per element (grid-stride).
//   backward: batch_norm_backward_reduce, one block per channel: Σ gz and Σ gz (x - mean) in double, gz = gy act'(z)
//     with z recomputed exactly as the forward computed it (pre_activation below, the same rounded inputs), so a relu
//     mask is the forward's; thread 0 writes grad_weight, grad_bias and the two per-channel terms of the training gx.
//     Then batch_norm_backward_elemt, one thread per element.
// The elementwise kernels find each element's channel c = (i / S) % C by stepping (s, c) along with i instead of
// dividing per element (64-bit division is slow on the GPU); the reductions walk a channel's values the same way.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "backends/common/norm_act_math.h"
#include "backends/cuda/batch_norm.h"
#include "backends/cuda/launch.h"
#include "core/dtype.h"
#include "core/error.h"

namespace nabla::cuda {
namespace {

constexpr int kReduceThreads = 512;  // per channel block: enough loads in flight when C is smaller than the GPU
constexpr int kUnroll = 4;           // loads a reduction thread issues before it uses them
constexpr unsigned kFullMask = 0xffffffffu;

// --- per-element math ---

// The pre-activation z of the forward, from the saved statistics; the backward calls the same function on the same
// values, so it recomputes the forward's z bit for bit (fma written out, not left to contraction).
template <class T>
__device__ __forceinline__ T pre_activation(T x, T mean, T invstd, T w, T b) {
    if constexpr (std::is_same_v<T, float>)
        return fmaf((x - mean) * invstd, w, b);
    else
        return fma((x - mean) * invstd, w, b);
}

// --- walks without division ---

// The values of channel c of x [N, C, S]: flat index j in [0, N*S) at offset (j / S) * C * S + c * S + j % S. A thread
// starts at j = first and steps by `step`, updating the offset with adds (one carry over a plane boundary per step,
// since step % S < S).
struct ChannelWalk {
    int64_t j, s, off;  // position: the index in the channel, its place in the plane, the offset in x
    int64_t end, S, step, ds, doff, wrap;

    __device__ ChannelWalk(const BatchNormShape& g, int64_t c, int64_t first, int64_t step_)
        : j(first),
          s(first % g.s),
          off((first / g.s) * g.c * g.s + c * g.s + first % g.s),
          end(g.n * g.s),
          S(g.s),
          step(step_),
          ds(step_ % g.s),
          doff((step_ / g.s) * g.c * g.s + step_ % g.s),
          wrap((g.c - 1) * g.s) {}
    __device__ bool valid() const { return j < end; }
    __device__ void next() {
        j += step;
        s += ds;
        off += doff;
        if (s >= S) {  // into the next plane: skip the other C - 1 channels' planes
            s -= S;
            off += wrap;
        }
    }
};

// The channel (i / S) % C of a flat index i of x [N, C, S] that advances by a fixed `step`.
struct ChannelOf {
    int64_t s, c;
    int64_t S, C, ds, dc;

    __device__ ChannelOf(const BatchNormShape& g, int64_t i, int64_t step)
        : s(i % g.s), c((i / g.s) % g.c), S(g.s), C(g.c), ds(step % g.s), dc((step / g.s) % g.c) {}
    __device__ void next() {
        s += ds;
        c += dc;
        if (s >= S) {
            s -= S;
            ++c;
        }
        if (c >= C) c -= C;  // c < 2C here: dc < C, plus at most one carry
    }
};

// --- block reductions ---

// Count, mean and sum of squared deviations of a set of values; merged with Chan et al.'s formula.
struct Welford {
    double n, mean, m2;
};
__device__ __forceinline__ Welford combine(const Welford& a, const Welford& b) {
    const double n = a.n + b.n;
    if (n == 0) return a;
    const double delta = b.mean - a.mean, fb = b.n / n;
    return {n, a.mean + delta * fb, a.m2 + b.m2 + delta * delta * a.n * fb};
}
__device__ __forceinline__ Welford shfl_down(const Welford& v, int d) {
    return {__shfl_down_sync(kFullMask, v.n, d), __shfl_down_sync(kFullMask, v.mean, d),
            __shfl_down_sync(kFullMask, v.m2, d)};
}

struct Sums {  // the backward's Σ gz and Σ gz (x - mean)
    double a, b;
};
__device__ __forceinline__ Sums combine(const Sums& x, const Sums& y) { return {x.a + y.a, x.b + y.b}; }
__device__ __forceinline__ Sums shfl_down(const Sums& v, int d) {
    return {__shfl_down_sync(kFullMask, v.a, d), __shfl_down_sync(kFullMask, v.b, d)};
}

template <class V>
__device__ __forceinline__ V warp_reduce(V v) {
    for (int d = 16; d > 0; d /= 2) v = combine(v, shfl_down(v, d));
    return v;
}

// Every thread's v combined, valid in thread 0. blockDim.x is a multiple of 32 (every lane of every warp takes part
// in the shuffles); called once per kernel (the shared array is not reused).
template <class V>
__device__ V block_reduce(V v) {
    __shared__ V partial[32];
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
    v = warp_reduce(v);
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    if (warp == 0) v = warp_reduce(lane < warps ? partial[lane] : V{});
    return v;
}

// --- forward ---

template <class T>
__global__ void __launch_bounds__(kReduceThreads)
    batch_norm_collect_statistics_kernel(const T* __restrict__ x, BatchNormShape g, T* running_mean, int64_t rm_stride,
                                         T* running_var, int64_t rv_stride, double momentum, double eps,
                                         T* __restrict__ save_mean, T* __restrict__ save_invstd) {
    const int64_t c = blockIdx.x;
    ChannelWalk w(g, c, threadIdx.x, blockDim.x);
    const double shift = w.valid() ? static_cast<double>(x[w.off]) : 0.0;  // this thread's first value
    double s1 = 0, s2 = 0;
    int64_t count = 0;
    while (w.valid()) {
        T v[kUnroll] = {};
        int m = 0;  // the first m of v are values
#pragma unroll
        for (int u = 0; u < kUnroll; ++u)
            if (w.valid()) {
                v[u] = x[w.off];
                w.next();
                m = u + 1;
            }
#pragma unroll
        for (int u = 0; u < kUnroll; ++u)
            if (u < m) {
                const double d = static_cast<double>(v[u]) - shift;
                s1 += d;
                s2 += d * d;
            }
        count += m;
    }
    Welford t{static_cast<double>(count), 0.0, 0.0};
    if (count > 0) {
        const double d = s1 / t.n;
        t.mean = shift + d;
        t.m2 = fmax(s2 - s1 * d, 0.0);  // Σ(x - mean)² = Σ(x - K)² - (Σ(x - K))² / count, >= 0 up to rounding
    }
    t = block_reduce(t);
    if (threadIdx.x != 0) return;

    const double n = static_cast<double>(g.n * g.s);  // the values per channel (== t.n)
    const double mean = n > 0 ? t.mean : std::numeric_limits<double>::quiet_NaN(), var = t.m2 / n;  // biased
    if (running_mean) {  // as the reference, in double, the variance unbiased: var * n / (n - 1)
        T& rm = running_mean[c * rm_stride];
        T& rv = running_var[c * rv_stride];
        rm = static_cast<T>((1 - momentum) * static_cast<double>(rm) + momentum * mean);
        rv = static_cast<T>((1 - momentum) * static_cast<double>(rv) + momentum * var * n / (n - 1));
    }
    save_mean[c] = static_cast<T>(mean);
    save_invstd[c] = static_cast<T>(1 / sqrt(var + eps));
}

template <class T>
__global__ void batch_norm_running_statistics_kernel(const T* running_mean, int64_t rm_stride, const T* running_var,
                                                     int64_t rv_stride, int64_t C, double eps, T* save_mean,
                                                     T* save_invstd) {
    for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < C; c += int64_t(blockDim.x) * gridDim.x) {
        const double var = static_cast<double>(running_var[c * rv_stride]);
        save_mean[c] = running_mean[c * rm_stride];
        save_invstd[c] = static_cast<T>(1 / sqrt(var + eps));
    }
}

template <NormAct A, class T>
__global__ void batch_norm_elemt_kernel(const T* __restrict__ x, const T* __restrict__ weight,
                                        const T* __restrict__ bias, const T* __restrict__ save_mean,
                                        const T* __restrict__ save_invstd, T* __restrict__ y, BatchNormShape g) {
    const int64_t total = g.n * g.c * g.s, step = int64_t(blockDim.x) * gridDim.x;
    int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
    for (ChannelOf ch(g, i, step); i < total; i += step, ch.next()) {
        const int64_t c = ch.c;
        const T w = weight ? weight[c] : T(1), b = bias ? bias[c] : T(0);
        y[i] = norm_act<A>(pre_activation(x[i], save_mean[c], save_invstd[c], w, b));
    }
}

// --- backward ---

template <NormAct A, class T>
__global__ void __launch_bounds__(kReduceThreads)
    batch_norm_backward_reduce_kernel(const T* __restrict__ gy, const T* __restrict__ x, const T* __restrict__ weight,
                                      const T* __restrict__ bias, const T* __restrict__ save_mean,
                                      const T* __restrict__ save_invstd, BatchNormShape g, T* __restrict__ grad_weight,
                                      T* __restrict__ grad_bias, double* __restrict__ coef) {
    const int64_t c = blockIdx.x;
    const T mean = save_mean[c], invstd = save_invstd[c];
    const T w = weight ? weight[c] : T(1), b = bias ? bias[c] : T(0);
    const double mean_d = static_cast<double>(mean);
    Sums acc{0.0, 0.0};
    for (ChannelWalk walk(g, c, threadIdx.x, blockDim.x); walk.valid();) {
        T vg[kUnroll] = {}, vx[kUnroll] = {};
        int m = 0;  // the first m of vg, vx are values
#pragma unroll
        for (int u = 0; u < kUnroll; ++u)
            if (walk.valid()) {
                vg[u] = gy[walk.off];
                vx[u] = x[walk.off];
                walk.next();
                m = u + 1;
            }
#pragma unroll
        for (int u = 0; u < kUnroll; ++u)
            if (u < m) {
                T gz = vg[u];
                if constexpr (A != NormAct::None) gz *= norm_act_grad<A>(pre_activation(vx[u], mean, invstd, w, b));
                const double gd = static_cast<double>(gz);
                acc.a += gd;
                acc.b += gd * (static_cast<double>(vx[u]) - mean_d);
            }
    }
    acc = block_reduce(acc);
    if (threadIdx.x != 0) return;

    const double sum_gz = acc.a, sum_gz_xhat = acc.b * static_cast<double>(invstd);
    if (grad_weight) grad_weight[c] = static_cast<T>(sum_gz_xhat);
    if (grad_bias) grad_bias[c] = static_cast<T>(sum_gz);
    if (coef) {
        const double n = static_cast<double>(g.n * g.s);
        coef[2 * c] = sum_gz / n;
        coef[2 * c + 1] = sum_gz_xhat / n;
    }
}

template <NormAct A, bool Training, class T>
__global__ void batch_norm_backward_elemt_kernel(const T* __restrict__ gy, const T* __restrict__ x,
                                                 const T* __restrict__ weight, const T* __restrict__ bias,
                                                 const T* __restrict__ save_mean, const T* __restrict__ save_invstd,
                                                 const double* __restrict__ coef, T* __restrict__ gx,
                                                 BatchNormShape g) {
    const int64_t total = g.n * g.c * g.s, step = int64_t(blockDim.x) * gridDim.x;
    int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
    for (ChannelOf ch(g, i, step); i < total; i += step, ch.next()) {
        const int64_t c = ch.c;
        const T mean = save_mean[c], invstd = save_invstd[c], w = weight ? weight[c] : T(1);
        T gz = gy[i];
        if constexpr (A != NormAct::None)
            gz *= norm_act_grad<A>(pre_activation(x[i], mean, invstd, w, bias ? bias[c] : T(0)));
        const T k = w * invstd;
        if constexpr (Training) {
            const T xhat = (x[i] - mean) * invstd;
            gx[i] = k * (gz - static_cast<T>(coef[2 * c]) - xhat * static_cast<T>(coef[2 * c + 1]));
        } else {
            gx[i] = k * gz;
        }
    }
}

// Threads of a per-channel block: a multiple of 32 (block_reduce), no more than the channel's values need.
int reduce_threads(const BatchNormShape& g) {
    const int64_t values = g.n * g.s;
    return static_cast<int>(std::clamp<int64_t>((values + 31) / 32 * 32, 32, kReduceThreads));
}

}  // namespace

void launch_batch_norm_collect_statistics(DType dtype, const void* x, BatchNormShape shape, void* running_mean,
                                          int64_t running_mean_stride, void* running_var, int64_t running_var_stride,
                                          double momentum, double eps, void* save_mean, void* save_invstd) {
    dispatch_floating(dtype, "batch_norm", [&]<class T>() {
        Launch launch("batch_norm_collect_statistics");
        batch_norm_collect_statistics_kernel<T>
            <<<static_cast<unsigned>(shape.c), reduce_threads(shape), 0, launch.stream()>>>(
                static_cast<const T*>(x), shape, static_cast<T*>(running_mean), running_mean_stride,
                static_cast<T*>(running_var), running_var_stride, momentum, eps, static_cast<T*>(save_mean),
                static_cast<T*>(save_invstd));
        launch.check();
    });
}

void launch_batch_norm_running_statistics(DType dtype, const void* running_mean, int64_t running_mean_stride,
                                          const void* running_var, int64_t running_var_stride, int64_t c, double eps,
                                          void* save_mean, void* save_invstd) {
    dispatch_floating(dtype, "batch_norm", [&]<class T>() {
        Launch launch("batch_norm_running_statistics");
        batch_norm_running_statistics_kernel<T><<<blocks_for(c), kThreads, 0, launch.stream()>>>(
            static_cast<const T*>(running_mean), running_mean_stride, static_cast<const T*>(running_var),
            running_var_stride, c, eps, static_cast<T*>(save_mean), static_cast<T*>(save_invstd));
        launch.check();
    });
}

void launch_batch_norm_elemt(DType dtype, NormAct act, const void* x, const void* weight, const void* bias,
                             const void* save_mean, const void* save_invstd, void* y, BatchNormShape shape) {
    const int64_t total = shape.n * shape.c * shape.s;
    dispatch_floating(dtype, "batch_norm", [&]<class T>() {
        visit_norm_act(act, [&]<NormAct A>() {
            Launch launch("batch_norm_elemt");
            batch_norm_elemt_kernel<A, T><<<blocks_for(total), kThreads, 0, launch.stream()>>>(
                static_cast<const T*>(x), static_cast<const T*>(weight), static_cast<const T*>(bias),
                static_cast<const T*>(save_mean), static_cast<const T*>(save_invstd), static_cast<T*>(y), shape);
            launch.check();
        });
    });
}

void launch_batch_norm_backward_reduce(DType dtype, NormAct act, const void* gy, const void* x, const void* weight,
                                       const void* bias, const void* save_mean, const void* save_invstd,
                                       BatchNormShape shape, void* grad_weight, void* grad_bias, double* coef) {
    dispatch_floating(dtype, "batch_norm_backward", [&]<class T>() {
        visit_norm_act(act, [&]<NormAct A>() {
            Launch launch("batch_norm_backward_reduce");
            batch_norm_backward_reduce_kernel<A, T>
                <<<static_cast<unsigned>(shape.c), reduce_threads(shape), 0, launch.stream()>>>(
                    static_cast<const T*>(gy), static_cast<const T*>(x), static_cast<const T*>(weight),
                    static_cast<const T*>(bias), static_cast<const T*>(save_mean), static_cast<const T*>(save_invstd),
                    shape, static_cast<T*>(grad_weight), static_cast<T*>(grad_bias), coef);
            launch.check();
        });
    });
}

void launch_batch_norm_backward_elemt(DType dtype, NormAct act, bool training, const void* gy, const void* x,
                                      const void* weight, const void* bias, const void* save_mean,
                                      const void* save_invstd, const double* coef, void* gx, BatchNormShape shape) {
    const int64_t total = shape.n * shape.c * shape.s;
    dispatch_floating(dtype, "batch_norm_backward", [&]<class T>() {
        visit_norm_act(act, [&]<NormAct A>() {
            auto run = [&]<bool Training>() {
                Launch launch("batch_norm_backward_elemt");
                batch_norm_backward_elemt_kernel<A, Training, T><<<blocks_for(total), kThreads, 0, launch.stream()>>>(
                    static_cast<const T*>(gy), static_cast<const T*>(x), static_cast<const T*>(weight),
                    static_cast<const T*>(bias), static_cast<const T*>(save_mean), static_cast<const T*>(save_invstd),
                    coef, static_cast<T*>(gx), shape);
                launch.check();
            };
            if (training)
                run.template operator()<true>();
            else
                run.template operator()<false>();
        });
    });
}

}  // namespace nabla::cuda
