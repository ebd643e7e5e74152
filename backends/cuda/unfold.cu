// backends/cuda/unfold.cu — the im2col and col2im kernels (unfold.h): F.unfold / F.fold and the column matrices of
// the im2col convolution. Both are gathers, so neither needs atomics nor a zeroed output:
//   im2col: one thread per (n, c, oy, ox) writes the kh*kw column entries of that window position; a warp's threads
//           differ in ox, so each of its kh*kw stores is coalesced along L.
//   col2im: one thread per pixel (n, c, y, x) sums the column entries of the windows that cover it — only the window
//           positions whose span reaches the pixel are visited (the bounds of PyTorch's col2im), and of those the taps
//           a dilation puts elsewhere are skipped.
#include <cuda_runtime.h>

#include <algorithm>

#include "backends/cuda/launch.h"
#include "backends/cuda/unfold.h"
#include "core/error.h"

namespace nabla::cuda {
namespace {

template <class T>
__global__ void im2col_kernel(const T* __restrict__ x, T* __restrict__ cols, ColGeometry g, int64_t total) {
    const int64_t kk = g.kh * g.kw;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(blockDim.x) * gridDim.x) {
        const int64_t ox = i % g.ow;
        int64_t t = i / g.ow;
        const int64_t oy = t % g.oh;
        t /= g.oh;
        const int64_t c = t % g.c, n = t / g.c;
        const T* src = x + (n * g.c + c) * g.h * g.w;
        T* dst = cols + n * g.n_stride + c * kk * g.row_stride + oy * g.ow + ox;  // row (c, 0, 0)
        const int64_t iy0 = oy * g.sh - g.ph, ix0 = ox * g.sw - g.pw;
        for (int64_t a = 0; a < g.kh; ++a) {
            const int64_t iy = iy0 + a * g.dh;
            const bool row_inside = iy >= 0 && iy < g.h;
            for (int64_t b = 0; b < g.kw; ++b) {
                const int64_t ix = ix0 + b * g.dw;
                *dst = row_inside && ix >= 0 && ix < g.w ? src[iy * g.w + ix] : T(0);
                dst += g.row_stride;  // the next row (c, a, b + 1)
            }
        }
    }
}

template <class T>
__global__ void col2im_kernel(const T* __restrict__ cols, T* __restrict__ x, ColGeometry g, int64_t total) {
    const int64_t extent_h = (g.kh - 1) * g.dh + 1, extent_w = (g.kw - 1) * g.dw + 1;  // a window's span
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(blockDim.x) * gridDim.x) {
        int64_t t = i / g.w;
        const int64_t xp = i % g.w + g.pw, yp = t % g.h + g.ph;  // the pixel in padded coordinates
        t /= g.h;
        const int64_t c = t % g.c, n = t / g.c;
        // Window position oy covers padded rows [oy*sh, oy*sh + extent_h): those with yp in it run from oy0 to oy1.
        const int64_t oy0 = yp < extent_h ? 0 : (yp - extent_h) / g.sh + 1;
        const int64_t oy1 = std::min(yp / g.sh + 1, g.oh);
        const int64_t ox0 = xp < extent_w ? 0 : (xp - extent_w) / g.sw + 1;
        const int64_t ox1 = std::min(xp / g.sw + 1, g.ow);
        const T* src = cols + n * g.n_stride + c * g.kh * g.kw * g.row_stride;  // row (c, 0, 0)
        T sum = 0;
        for (int64_t oy = oy0; oy < oy1; ++oy) {
            const int64_t ady = yp - oy * g.sh;  // a * dh for the tap a that lands here, if a dilation step fits
            if (ady % g.dh != 0) continue;
            const T* row = src + (ady / g.dh) * g.kw * g.row_stride + oy * g.ow;
            for (int64_t ox = ox0; ox < ox1; ++ox) {
                const int64_t bdw = xp - ox * g.sw;
                if (bdw % g.dw != 0) continue;
                sum += row[(bdw / g.dw) * g.row_stride + ox];
            }
        }
        x[i] = sum;
    }
}

}  // namespace

void launch_im2col(DType dtype, const void* x, void* cols, const ColGeometry& g) {
    const int64_t total = g.n * g.c * g.oh * g.ow;
    if (total == 0) return;
    Launch launch("im2col");
    dispatch_floating(dtype, "im2col", [&]<class T>() {
        im2col_kernel<T><<<blocks_for(total), kThreads, 0, launch.stream()>>>(static_cast<const T*>(x),
                                                                              static_cast<T*>(cols), g, total);
    });
    launch.check();
}

void launch_col2im(DType dtype, const void* cols, void* x, const ColGeometry& g) {
    const int64_t total = g.n * g.c * g.h * g.w;
    if (total == 0) return;
    Launch launch("col2im");
    dispatch_floating(dtype, "col2im", [&]<class T>() {
        col2im_kernel<T><<<blocks_for(total), kThreads, 0, launch.stream()>>>(static_cast<const T*>(cols),
                                                                              static_cast<T*>(x), g, total);
    });
    launch.check();
}

}  // namespace nabla::cuda
