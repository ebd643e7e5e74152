// backends/cuda/conv_common.cu — the kernels both convolution paths share (conv_common.h): the forward epilogue
// (bias + conv2d_act's activation, or a plain copy that swaps two outer dims), the bias gradient and the window copy.
// The epilogue and the window copy are grid-stride loops over the output, coalesced along the innermost dim; the
// bias gradient is a per-channel block reduction, split over several blocks per channel when the channels are few.
#include <cuda_runtime.h>

#include <algorithm>

#include "backends/common/norm_act_math.h"
#include "backends/cuda/conv_common.h"
#include "backends/cuda/launch.h"
#include "core/error.h"

namespace nabla::cuda {
namespace {

// One thread walks i, i + step, ... of the [A, B, L] output; the (a, b, l) of each i are carried forward by adding
// the (a, b, l) of the step, so the 64-bit divisions happen once per thread, not once per element.
template <NormAct Act, class T>
__global__ void epilogue_kernel(const T* src, int64_t src_a, int64_t src_b, T* dst, const T* bias, int64_t A, int64_t B,
                                int64_t L) {
    const int64_t total = A * B * L, step = int64_t(blockDim.x) * gridDim.x;
    int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= total) return;
    int64_t l = i % L, b = (i / L) % B, a = i / L / B;
    const int64_t step_l = step % L, step_b = (step / L) % B, step_a = step / L / B;
    for (; i < total; i += step) {
        T v = src[a * src_a + b * src_b + l];  // read before the write: src may be dst
        if (bias) v += bias[b];
        dst[i] = norm_act<Act>(v);
        l += step_l;
        if (l >= L) {  // carry into b
            l -= L;
            ++b;
        }
        b += step_b;
        if (b >= B) {  // carry into a
            b -= B;
            ++a;
        }
        a += step_a;
    }
}

template <class A>
__device__ A warp_sum(A v) {
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
    return v;
}

// The sum of v over the block, in thread 0.
template <class A>
__device__ A block_sum(A v) {
    __shared__ A warp_sums[32];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = warp_sum(v);
    if (lane == 0) warp_sums[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = lane < int(blockDim.x >> 5) ? warp_sums[lane] : A(0);
        v = warp_sum(v);
    }
    return v;
}

// Block (c, s) sums channel c of gy [N, C, L] over its share s of the N*L positions: into gb[c] when it is the only
// share, else into partial[c * splits + s]. The threads walk the positions j = n*L + l, carrying (n, l) forward.
template <class T>
__global__ void bias_grad_kernel(const T* gy, T* gb, T* partial, int64_t N, int64_t C, int64_t L, int64_t splits) {
    const int64_t c = blockIdx.x, s = blockIdx.y, positions = N * L;
    const int64_t share = (positions + splits - 1) / splits;
    const int64_t end = std::min(positions, (s + 1) * share);
    T sum = 0;
    int64_t j = s * share + threadIdx.x;
    if (j < end) {
        int64_t n = j / L, l = j % L;
        const int64_t step_n = blockDim.x / L, step_l = blockDim.x % L;
        for (; j < end; j += blockDim.x) {
            sum += gy[(n * C + c) * L + l];
            l += step_l;
            if (l >= L) {  // carry into n
                l -= L;
                ++n;
            }
            n += step_n;
        }
    }
    sum = block_sum(sum);
    if (threadIdx.x == 0) {
        if (splits == 1)
            gb[c] = sum;
        else
            partial[c * splits + s] = sum;
    }
}

// One warp per channel adds its `splits` partial sums.
template <class T>
__global__ void bias_grad_finish_kernel(const T* partial, T* gb, int64_t C, int64_t splits) {
    const int lane = threadIdx.x & 31;
    const int64_t warps_per_block = blockDim.x >> 5, warps = warps_per_block * gridDim.x;
    for (int64_t c = blockIdx.x * warps_per_block + (threadIdx.x >> 5); c < C; c += warps) {
        T sum = 0;
        for (int64_t s = lane; s < splits; s += 32) sum += partial[c * splits + s];
        sum = warp_sum(sum);
        if (lane == 0) gb[c] = sum;
    }
}

template <class T>
__global__ void window_copy_kernel(const T* __restrict__ src, int64_t src_h, int64_t src_w, T* __restrict__ dst,
                                   int64_t dst_h, int64_t dst_w, int64_t total, int64_t off_h, int64_t off_w) {
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(blockDim.x) * gridDim.x) {
        const int64_t t = i / dst_w;
        const int64_t x = i % dst_w + off_w, y = t % dst_h + off_h, plane = t / dst_h;
        dst[i] = y >= 0 && y < src_h && x >= 0 && x < src_w ? src[(plane * src_h + y) * src_w + x] : T(0);
    }
}

// How many blocks share one channel's sum: enough blocks in all to fill the GPU (~1024), each with at least 16
// elements per thread to add, and at most gridDim.y's limit.
int64_t bias_grad_splits(int64_t n, int64_t c, int64_t hw) {
    if (c == 0) return 1;
    const int64_t wanted = (1024 + c - 1) / c, useful = n * hw / (int64_t(kThreads) * 16);
    return std::clamp<int64_t>(std::min(wanted, useful), 1, 65535);
}

}  // namespace

void launch_conv_epilogue(DType dtype, const void* src, int64_t src_a_stride, int64_t src_b_stride, void* dst,
                          const void* bias, int64_t A, int64_t B, int64_t L, NormAct act) {
    const int64_t total = A * B * L;
    if (total == 0) return;
    Launch launch("conv_epilogue");
    dispatch_floating(dtype, "conv_epilogue", [&]<class T>() {
        visit_norm_act(act, [&]<NormAct Act>() {
            epilogue_kernel<Act, T><<<blocks_for(total), kThreads, 0, launch.stream()>>>(
                static_cast<const T*>(src), src_a_stride, src_b_stride, static_cast<T*>(dst),
                static_cast<const T*>(bias), A, B, L);
        });
    });
    launch.check();
}

size_t conv_bias_grad_workspace(DType dtype, int64_t n, int64_t c, int64_t hw) {
    const int64_t splits = bias_grad_splits(n, c, hw);
    return splits == 1 ? 0 : static_cast<size_t>(c * splits) * element_size(dtype);
}

void launch_conv_bias_grad(DType dtype, const void* gy, void* gb, int64_t n, int64_t c, int64_t hw, void* workspace) {
    if (c == 0) return;
    const int64_t splits = bias_grad_splits(n, c, hw);
    Launch launch("conv_bias_grad");
    dispatch_floating(dtype, "conv_bias_grad", [&]<class T>() {
        const dim3 grid(static_cast<unsigned>(c), static_cast<unsigned>(splits));
        bias_grad_kernel<T><<<grid, kThreads, 0, launch.stream()>>>(static_cast<const T*>(gy), static_cast<T*>(gb),
                                                                    static_cast<T*>(workspace), n, c, hw, splits);
        if (splits > 1)
            bias_grad_finish_kernel<T><<<blocks_for(c * 32), kThreads, 0, launch.stream()>>>(
                static_cast<const T*>(workspace), static_cast<T*>(gb), c, splits);
    });
    launch.check();
}

void launch_window_copy(DType dtype, const void* src, int64_t src_h, int64_t src_w, void* dst, int64_t dst_h,
                        int64_t dst_w, int64_t planes, int64_t off_h, int64_t off_w) {
    const int64_t total = planes * dst_h * dst_w;
    if (total == 0) return;
    Launch launch("conv_window_copy");
    dispatch_floating(dtype, "conv_window_copy", [&]<class T>() {
        window_copy_kernel<T><<<blocks_for(total), kThreads, 0, launch.stream()>>>(
            static_cast<const T*>(src), src_h, src_w, static_cast<T*>(dst), dst_h, dst_w, total, off_h, off_w);
    });
    launch.check();
}

}  // namespace nabla::cuda
