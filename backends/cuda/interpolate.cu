// backends/cuda/interpolate.cu — upsample and upsample_backward (F.interpolate: nearest, bilinear, bicubic) on
// contiguous NCHW tensors. The taps and weights of each output row and column are backends/common/interpolate_math.h,
// the code the reference and cpu backends run, and the sums are taken in the reference's order
// (backends/reference/interpolate.cpp), so the modes, align_corners and the source-coordinate rule agree with it.
//   forward: one thread per output pixel computes its row and column taps and sums wy[a] * (sum_b wx[b] x[..]).
//   backward, nearest: a gather, one thread per input pixel summing the block of outputs that copied it (the source
//     index is non-decreasing in the output index, so that block is a rectangle) in the reference's order: exact and
//     deterministic. bilinear and bicubic: one thread per output pixel scatter-adds gy * wy[a] * wx[b] to its taps
//     with atomicAdd (clamped border taps and overlapping windows hit one input more than once).
// The kernels are templates on the mode, so the tap loops unroll and the other modes' branches fold away.
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

#include "backends/common/interpolate_math.h"
#include "backends/cuda/interpolate.h"
#include "backends/cuda/launch.h"
#include "core/dtype.h"
#include "core/error.h"

namespace nabla::cuda {
namespace {

template <class T, InterpolateMode M>
__global__ void upsample_kernel(const T* x, T* y, int64_t n, int64_t H, int64_t W, UpsampleParams p) {
    const int64_t OH = p.out_h, OW = p.out_w;
    for (int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; o < n; o += int64_t(blockDim.x) * gridDim.x) {
        const int64_t ox = o % OW, oy = o / OW % OH, plane = o / (OW * OH);
        const UpsampleTaps<T> ty = upsample_taps<T>(M, p.scale_h, oy, H, OH, p.align_corners);
        const UpsampleTaps<T> tx = upsample_taps<T>(M, p.scale_w, ox, W, OW, p.align_corners);
        const T* src = x + plane * H * W;
        T acc = T(0);
        for (int a = 0; a < ty.n; ++a) {
            T row = T(0);
            for (int b = 0; b < tx.n; ++b) row += tx.w[b] * src[ty.idx[a] * W + tx.idx[b]];
            acc += ty.w[a] * row;
        }
        y[o] = acc;
    }
}

// The first output along an axis whose nearest source index is >= i: the outputs that copy input i are
// [nearest_first_output(i), nearest_first_output(i + 1)). Starts from d = ceil(i / r) and walks to the exact
// boundary with the forward's own index function, so float rounding never puts an output in the wrong block.
__device__ inline int64_t nearest_first_output(int64_t i, double r, int64_t in, int64_t out) {
    if (in == out) return i;  // nearest_source_index copies an axis whose size does not change
    if (i <= 0) return 0;
    if (i >= in) return out;
    const double e = r > 0 ? ceil(static_cast<double>(i) / r) : static_cast<double>(out);
    int64_t d = e < 0 ? 0 : (e > static_cast<double>(out) ? out : static_cast<int64_t>(e));
    while (d > 0 && nearest_source_index(r, d - 1, in, out) >= i) --d;
    while (d < out && nearest_source_index(r, d, in, out) < i) ++d;
    return d;
}

// Nearest backward as a gather: gx[h][w] = sum of gy over the output block that copied (h, w), row by row, the order
// in which the reference's scatter adds the same terms (each weight is 1, so every term is gy itself).
template <class T>
__global__ void upsample_nearest_backward_kernel(const T* gy, T* gx, int64_t n, int64_t H, int64_t W,
                                                 UpsampleParams p) {
    const int64_t OH = p.out_h, OW = p.out_w;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x) {
        const int64_t w = i % W, h = i / W % H, plane = i / (W * H);
        const int64_t oy0 = nearest_first_output(h, p.scale_h, H, OH),
                      oy1 = nearest_first_output(h + 1, p.scale_h, H, OH);
        const int64_t ox0 = nearest_first_output(w, p.scale_w, W, OW),
                      ox1 = nearest_first_output(w + 1, p.scale_w, W, OW);
        const T* g = gy + plane * OH * OW;
        T sum = T(0);
        for (int64_t oy = oy0; oy < oy1; ++oy)
            for (int64_t ox = ox0; ox < ox1; ++ox) sum += g[oy * OW + ox];
        gx[i] = sum;
    }
}

// Bilinear and bicubic backward: the adjoint of the forward, scattered (gx zeroed beforehand).
template <class T, InterpolateMode M>
__global__ void upsample_backward_kernel(const T* gy, T* gx, int64_t n, int64_t H, int64_t W, UpsampleParams p) {
    const int64_t OH = p.out_h, OW = p.out_w;
    for (int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; o < n; o += int64_t(blockDim.x) * gridDim.x) {
        const int64_t ox = o % OW, oy = o / OW % OH, plane = o / (OW * OH);
        const UpsampleTaps<T> ty = upsample_taps<T>(M, p.scale_h, oy, H, OH, p.align_corners);
        const UpsampleTaps<T> tx = upsample_taps<T>(M, p.scale_w, ox, W, OW, p.align_corners);
        const T g = gy[o];
        T* dst = gx + plane * H * W;
        for (int a = 0; a < ty.n; ++a)
            for (int b = 0; b < tx.n; ++b) atomicAdd(dst + ty.idx[a] * W + tx.idx[b], ty.w[a] * tx.w[b] * g);
    }
}

}  // namespace

void launch_upsample(DType dtype, const void* x, void* y, int64_t planes, int64_t H, int64_t W,
                     const UpsampleParams& p) {
    const int64_t n = planes * p.out_h * p.out_w;
    if (n == 0) return;
    dispatch_floating(dtype, "upsample", [&]<class T>() {
        Launch launch("upsample");
        const T* px = static_cast<const T*>(x);
        T* py = static_cast<T*>(y);
        switch (p.mode) {
            case InterpolateMode::Nearest:
                upsample_kernel<T, InterpolateMode::Nearest>
                    <<<blocks_for(n), kThreads, 0, launch.stream()>>>(px, py, n, H, W, p);
                break;
            case InterpolateMode::Bilinear:
                upsample_kernel<T, InterpolateMode::Bilinear>
                    <<<blocks_for(n), kThreads, 0, launch.stream()>>>(px, py, n, H, W, p);
                break;
            case InterpolateMode::Bicubic:
                upsample_kernel<T, InterpolateMode::Bicubic>
                    <<<blocks_for(n), kThreads, 0, launch.stream()>>>(px, py, n, H, W, p);
                break;
        }
        launch.check();
    });
}

void launch_upsample_backward(DType dtype, const void* gy, void* gx, int64_t planes, int64_t H, int64_t W,
                              const UpsampleParams& p) {
    const int64_t n_in = planes * H * W, n_out = planes * p.out_h * p.out_w;
    if (n_in == 0) return;
    dispatch_floating(dtype, "upsample_backward", [&]<class T>() {
        Launch launch("upsample_backward");
        const T* pg = static_cast<const T*>(gy);
        T* pgx = static_cast<T*>(gx);
        if (p.mode == InterpolateMode::Nearest) {  // every gx element written by the gather
            upsample_nearest_backward_kernel<T>
                <<<blocks_for(n_in), kThreads, 0, launch.stream()>>>(pg, pgx, n_in, H, W, p);
        } else {
            check(cudaMemsetAsync(pgx, 0, static_cast<size_t>(n_in) * sizeof(T), launch.stream()),
                  "upsample_backward: cudaMemsetAsync");
            if (n_out > 0) {
                if (p.mode == InterpolateMode::Bilinear)
                    upsample_backward_kernel<T, InterpolateMode::Bilinear>
                        <<<blocks_for(n_out), kThreads, 0, launch.stream()>>>(pg, pgx, n_out, H, W, p);
                else
                    upsample_backward_kernel<T, InterpolateMode::Bicubic>
                        <<<blocks_for(n_out), kThreads, 0, launch.stream()>>>(pg, pgx, n_out, H, W, p);
            }
        }
        launch.check();
    });
}

}  // namespace nabla::cuda
