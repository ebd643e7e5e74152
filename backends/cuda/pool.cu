// backends/cuda/pool.cu — the 2-D pooling kernels (max, average, adaptive average, forward and backward) on
// contiguous NCHW tensors, one [H, W] plane per (n, c). The window arithmetic is backends/common/pool_math.h, the
// code the reference and cpu backends run, so ties, NaNs, padding, dilation, ceil_mode and the divisors follow
// backends/reference/pool.cpp exactly.
//   forwards: one thread per output (grid-stride); adaptive windows of 32 elements or more take a warp per output, and
//     very large ones (global pooling of big maps) a block per output, with a shuffle reduction.
//   backwards: avg and adaptive avg gather, one thread per input element summing the outputs whose windows hold it in
//     the order the reference adds them (deterministic, no atomics); max scatters gy to the saved indices with
//     atomicAdd, since the kernel gets no pooling parameters to invert the windows with.
#include <cuda_runtime.h>

#include <cstdint>
#include <limits>

#include "backends/common/pool_math.h"
#include "backends/cuda/launch.h"
#include "backends/cuda/pool.h"
#include "core/dtype.h"
#include "core/error.h"

namespace nabla::cuda {
namespace {

// --- max_pool2d ---

// The reference's window_max: strict > in window order (the first maximum wins), a NaN wins; the first in-bounds
// element holds the place, and a window that misses the input gives (-inf, -1).
template <class T>
__global__ void max_pool2d_kernel(const T* x, T* y, int64_t* indices, int64_t n, int64_t H, int64_t W, PoolParams p) {
    const int64_t OH = p.out_h, OW = p.out_w;
    for (int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; o < n; o += int64_t(blockDim.x) * gridDim.x) {
        const int64_t ow = o % OW, oh = o / OW % OH, plane = o / (OW * OH);
        const T* px = x + plane * H * W;
        T best = -std::numeric_limits<T>::infinity();
        int64_t best_i = -1;
        for_each_max_tap(oh, ow, H, W, p, [&](int64_t h, int64_t w) {
            const T v = px[h * W + w];
            if (best_i < 0 || max_wins(v, best)) {
                best = v;
                best_i = h * W + w;
            }
        });
        y[o] = best;
        indices[o] = best_i;
    }
}

// gx (zeroed) += gy at the saved argmax of each output; overlapping windows may pick the same input, hence atomics.
template <class T>
__global__ void max_pool2d_backward_kernel(const T* gy, const int64_t* indices, T* gx, int64_t n, int64_t HW,
                                           int64_t OHW) {
    for (int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; o < n; o += int64_t(blockDim.x) * gridDim.x) {
        const int64_t i = indices[o];
        if (i >= 0) atomicAdd(gx + (o / OHW) * HW + i, gy[o]);  // -1: a window with no input element
    }
}

// --- avg_pool2d ---

template <class T>
__global__ void avg_pool2d_kernel(const T* x, T* y, int64_t n, int64_t H, int64_t W, PoolParams p) {
    const int64_t OH = p.out_h, OW = p.out_w;
    for (int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; o < n; o += int64_t(blockDim.x) * gridDim.x) {
        const int64_t ow = o % OW, oh = o / OW % OH, plane = o / (OW * OH);
        const AvgWindow wh = avg_window(oh, H, p.kernel_size.h, p.stride.h, p.padding.h);
        const AvgWindow ww = avg_window(ow, W, p.kernel_size.w, p.stride.w, p.padding.w);
        if (wh.lo >= wh.hi || ww.lo >= ww.hi) {  // a window wholly in the padding
            y[o] = T(0);
            continue;
        }
        const T* px = x + plane * H * W;
        T sum = T(0);
        for (int64_t h = wh.lo; h < wh.hi; ++h)
            for (int64_t w = ww.lo; w < ww.hi; ++w) sum += px[h * W + w];
        y[o] = sum / static_cast<T>(avg_divisor(wh, ww, p.count_include_pad));
    }
}

// The outputs along one axis whose windows hold input index i: start = o*s - p <= i < start + k (the clipped window
// [max(start, 0), min(start + k, in)) holds i exactly then, as 0 <= i < in), within [0, out).
struct OutRange {
    int64_t lo, hi;
};
__device__ inline OutRange avg_outputs_of(int64_t i, int64_t out, int64_t k, int64_t s, int64_t p) {
    const int64_t lo = i + p < k ? 0 : (i + p - k) / s + 1;
    const int64_t hi = (i + p) / s + 1;
    return {lo, hi < out ? hi : out};
}

// Gather: gx[h][w] = sum over the outputs whose windows hold (h, w), in row-major output order, of gy / divisor —
// the reference's scatter loop seen from the input side, so the sums agree term by term.
template <class T>
__global__ void avg_pool2d_backward_kernel(const T* gy, T* gx, int64_t n, int64_t H, int64_t W, PoolParams p) {
    const int64_t OH = p.out_h, OW = p.out_w;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x) {
        const int64_t w = i % W, h = i / W % H, plane = i / (W * H);
        const OutRange rh = avg_outputs_of(h, OH, p.kernel_size.h, p.stride.h, p.padding.h);
        const OutRange rw = avg_outputs_of(w, OW, p.kernel_size.w, p.stride.w, p.padding.w);
        const T* pg = gy + plane * OH * OW;
        T sum = T(0);
        for (int64_t oh = rh.lo; oh < rh.hi; ++oh) {
            const AvgWindow wh = avg_window(oh, H, p.kernel_size.h, p.stride.h, p.padding.h);
            for (int64_t ow = rw.lo; ow < rw.hi; ++ow) {
                const AvgWindow ww = avg_window(ow, W, p.kernel_size.w, p.stride.w, p.padding.w);
                sum += pg[oh * OW + ow] / static_cast<T>(avg_divisor(wh, ww, p.count_include_pad));
            }
        }
        gx[i] = sum;
    }
}

// --- adaptive_avg_pool2d ---

// One thread per output, for small windows.
template <class T>
__global__ void adaptive_avg_pool2d_kernel(const T* x, T* y, int64_t n, int64_t H, int64_t W, int64_t OH, int64_t OW) {
    for (int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; o < n; o += int64_t(blockDim.x) * gridDim.x) {
        const int64_t ow = o % OW, oh = o / OW % OH, plane = o / (OW * OH);
        const int64_t h0 = adaptive_start(oh, H, OH), h1 = adaptive_end(oh, H, OH);
        const int64_t w0 = adaptive_start(ow, W, OW), w1 = adaptive_end(ow, W, OW);
        const T* px = x + plane * H * W;
        T sum = T(0);
        for (int64_t h = h0; h < h1; ++h)
            for (int64_t w = w0; w < w1; ++w) sum += px[h * W + w];
        y[o] = sum / static_cast<T>((h1 - h0) * (w1 - w0));
    }
}

// The sum of v over a group of G threads (G = 32: a warp; G = kThreads: the block), in the group's first thread.
// Every thread of the block must call it (the loops that call it are block-uniform).
template <int G, class T>
__device__ inline T group_sum(T v, T* partial) {
    for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
    if constexpr (G > 32) {
        constexpr int kWarps = kThreads / 32;
        const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
        if (lane == 0) partial[warp] = v;
        __syncthreads();
        if (warp == 0) {
            v = lane < kWarps ? partial[lane] : T(0);
            for (int offset = kWarps / 2; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
        }
        __syncthreads();  // partial is reused by the next output
    }
    return v;
}

// G threads per output (G = 32 or kThreads), for large windows: the group strides over the window's elements, which
// are contiguous in memory when the window spans whole rows (global pooling), then reduces.
template <class T, int G>
__global__ void adaptive_avg_pool2d_group_kernel(const T* x, T* y, int64_t n, int64_t H, int64_t W, int64_t OH,
                                                 int64_t OW) {
    static_assert(G == 32 || G == kThreads, "a warp or the block");
    constexpr int kGroups = kThreads / G;
    __shared__ T partial[kThreads / 32];
    const int lane = threadIdx.x % G;
    for (int64_t base = blockIdx.x * int64_t(kGroups); base < n; base += int64_t(kGroups) * gridDim.x) {
        const int64_t o = base + threadIdx.x / G;
        T sum = T(0);
        int64_t count = 1;
        if (o < n) {
            const int64_t ow = o % OW, oh = o / OW % OH, plane = o / (OW * OH);
            const int64_t h0 = adaptive_start(oh, H, OH), h1 = adaptive_end(oh, H, OH);
            const int64_t w0 = adaptive_start(ow, W, OW), w1 = adaptive_end(ow, W, OW);
            const int64_t kw = w1 - w0;
            count = (h1 - h0) * kw;
            const T* px = x + plane * H * W;
            if (kw == W) {  // whole rows: one contiguous run
                const T* run = px + h0 * W;
                for (int64_t k = lane; k < count; k += G) sum += run[k];
            } else if (count <= int64_t(UINT32_MAX) - G) {  // 32-bit division: far cheaper on the GPU than 64-bit
                const auto c32 = static_cast<uint32_t>(count), kw32 = static_cast<uint32_t>(kw);
                for (uint32_t k = lane; k < c32; k += G) sum += px[(h0 + k / kw32) * W + w0 + k % kw32];
            } else {
                for (int64_t k = lane; k < count; k += G) sum += px[(h0 + k / kw) * W + w0 + k % kw];
            }
        }
        sum = group_sum<G>(sum, partial);
        if (lane == 0 && o < n) y[o] = sum / static_cast<T>(count);
    }
}

// Gather: the outputs whose windows hold input (h, w) are [adaptive_start(h, OH, H), adaptive_end(h, OH, H)) (the
// same rule with in and out swapped), likewise for w; summed in the reference's order.
template <class T>
__global__ void adaptive_avg_pool2d_backward_kernel(const T* gy, T* gx, int64_t n, int64_t H, int64_t W, int64_t OH,
                                                    int64_t OW) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x) {
        const int64_t w = i % W, h = i / W % H, plane = i / (W * H);
        const int64_t oh0 = adaptive_start(h, OH, H), oh1 = adaptive_end(h, OH, H);
        const int64_t ow0 = adaptive_start(w, OW, W), ow1 = adaptive_end(w, OW, W);
        const T* pg = gy + plane * OH * OW;
        T sum = T(0);
        for (int64_t oh = oh0; oh < oh1; ++oh) {
            const int64_t kh = adaptive_end(oh, H, OH) - adaptive_start(oh, H, OH);
            for (int64_t ow = ow0; ow < ow1; ++ow) {
                const int64_t kw = adaptive_end(ow, W, OW) - adaptive_start(ow, W, OW);
                sum += pg[oh * OW + ow] / static_cast<T>(kh * kw);
            }
        }
        gx[i] = sum;
    }
}

// The most elements any adaptive window spans along an axis: ceil(in/out), plus one when the windows overlap.
int64_t adaptive_max_len(int64_t in, int64_t out) { return (in + out - 1) / out + (in % out != 0 ? 1 : 0); }

}  // namespace

void launch_max_pool2d(DType dtype, const void* x, void* y, int64_t* indices, int64_t planes, int64_t H, int64_t W,
                       const PoolParams& p) {
    const int64_t n = planes * p.out_h * p.out_w;
    if (n == 0) return;
    dispatch_floating(dtype, "max_pool2d", [&]<class T>() {
        Launch launch("max_pool2d");
        max_pool2d_kernel<T><<<blocks_for(n), kThreads, 0, launch.stream()>>>(static_cast<const T*>(x),
                                                                              static_cast<T*>(y), indices, n, H, W, p);
        launch.check();
    });
}

void launch_max_pool2d_backward(DType dtype, const void* gy, const int64_t* indices, void* gx, int64_t planes,
                                int64_t HW, int64_t OHW) {
    if (planes * HW == 0) return;
    const int64_t n = planes * OHW;
    dispatch_floating(dtype, "max_pool2d_backward", [&]<class T>() {
        Launch launch("max_pool2d_backward");
        check(cudaMemsetAsync(gx, 0, static_cast<size_t>(planes * HW) * sizeof(T), launch.stream()),
              "max_pool2d_backward: cudaMemsetAsync");
        if (n > 0)
            max_pool2d_backward_kernel<T><<<blocks_for(n), kThreads, 0, launch.stream()>>>(
                static_cast<const T*>(gy), indices, static_cast<T*>(gx), n, HW, OHW);
        launch.check();
    });
}

void launch_avg_pool2d(DType dtype, const void* x, void* y, int64_t planes, int64_t H, int64_t W, const PoolParams& p) {
    const int64_t n = planes * p.out_h * p.out_w;
    if (n == 0) return;
    dispatch_floating(dtype, "avg_pool2d", [&]<class T>() {
        Launch launch("avg_pool2d");
        avg_pool2d_kernel<T>
            <<<blocks_for(n), kThreads, 0, launch.stream()>>>(static_cast<const T*>(x), static_cast<T*>(y), n, H, W, p);
        launch.check();
    });
}

void launch_avg_pool2d_backward(DType dtype, const void* gy, void* gx, int64_t planes, int64_t H, int64_t W,
                                const PoolParams& p) {
    const int64_t n = planes * H * W;
    if (n == 0) return;
    dispatch_floating(dtype, "avg_pool2d_backward", [&]<class T>() {
        Launch launch("avg_pool2d_backward");
        avg_pool2d_backward_kernel<T><<<blocks_for(n), kThreads, 0, launch.stream()>>>(static_cast<const T*>(gy),
                                                                                       static_cast<T*>(gx), n, H, W, p);
        launch.check();
    });
}

void launch_adaptive_avg_pool2d(DType dtype, const void* x, void* y, int64_t planes, int64_t H, int64_t W, int64_t OH,
                                int64_t OW) {
    const int64_t n = planes * OH * OW;
    if (n == 0) return;
    const int64_t window = adaptive_max_len(H, OH) * adaptive_max_len(W, OW);
    dispatch_floating(dtype, "adaptive_avg_pool2d", [&]<class T>() {
        Launch launch("adaptive_avg_pool2d");
        const T* px = static_cast<const T*>(x);
        T* py = static_cast<T*>(y);
        if (window >= 4096)  // a block per output: few, huge windows (global pooling of a large map)
            adaptive_avg_pool2d_group_kernel<T, kThreads>
                <<<blocks_for(n * kThreads), kThreads, 0, launch.stream()>>>(px, py, n, H, W, OH, OW);
        else if (window >= 32)  // a warp per output
            adaptive_avg_pool2d_group_kernel<T, 32>
                <<<blocks_for(n * 32), kThreads, 0, launch.stream()>>>(px, py, n, H, W, OH, OW);
        else
            adaptive_avg_pool2d_kernel<T><<<blocks_for(n), kThreads, 0, launch.stream()>>>(px, py, n, H, W, OH, OW);
        launch.check();
    });
}

void launch_adaptive_avg_pool2d_backward(DType dtype, const void* gy, void* gx, int64_t planes, int64_t H, int64_t W,
                                         int64_t OH, int64_t OW) {
    const int64_t n = planes * H * W;
    if (n == 0) return;
    dispatch_floating(dtype, "adaptive_avg_pool2d_backward", [&]<class T>() {
        Launch launch("adaptive_avg_pool2d_backward");
        adaptive_avg_pool2d_backward_kernel<T><<<blocks_for(n), kThreads, 0, launch.stream()>>>(
            static_cast<const T*>(gy), static_cast<T*>(gx), n, H, W, OH, OW);
        launch.check();
    });
}

}  // namespace nabla::cuda
