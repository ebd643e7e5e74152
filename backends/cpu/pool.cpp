// backends/cpu/pool.cpp — float32 max_pool2d / avg_pool2d and their backwards (torch's CPU pooling kernels) as
// OpenMP loops over the N*C planes of a contiguous [N, C, H, W] tensor, and max_pool2d over the pixels of a
// channels-last one (rows of C channels). Other dtypes go to the reference kernels.
//
// Why not oneDNN: its max pooling returns a workspace, not PyTorch's argmax indices, emulates ceil_mode only through
// extra right padding, and is fast only on blocked layouts (a reorder each way). These loops produce the indices
// directly. One thread, [1, 64, 288, 288] k2 s2 ceil_mode: forward 3.3 ms, backward 1.7 ms (torch 1.13: 25 / 3.2).
//
// How the loops vectorise: one output row at a time, the outputs whose windows lie wholly inside the input columns
// ("interior", [lo, hi)) are processed together, one kernel position (i, j) after another in window order, so the
// inner loop runs over ow with a constant stride and no bounds checks. Visiting the positions in the same row-major
// order with the same strict > keeps PyTorch's tie and NaN rules. The few border outputs take a scalar path.
// The semantics (window clipping, divisors) are those of backends/reference/pool.cpp and ops/pool.cpp.
#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "backends/common/pool_math.h"
#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/parallel.h"

namespace nabla {

namespace {

// Planes per parallel chunk: enough that a chunk is ~32k elements, so small tensors run on one thread.
int64_t plane_grain(int64_t plane_size) { return std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(plane_size, 1)); }

// Along one axis: outputs [lo, hi) have every window tap o*s - p + t*d (t < k) inside [0, in).
struct Interior {
    int64_t lo, hi;
};
Interior interior(int64_t in, int64_t out, int64_t k, int64_t s, int64_t p, int64_t d) {
    int64_t lo = 0, hi = out;
    while (lo < out && lo * s - p < 0) ++lo;
    while (hi > lo && (hi - 1) * s - p + (k - 1) * d >= in) --hi;
    return {lo, hi};
}
// Calls f(o) for the border outputs [0, lo) and [hi, out), which take the scalar path.
template <class F>
void for_each_border(Interior cols, int64_t out, F&& f) {
    for (int64_t o = 0; o < cols.lo; ++o) f(o);
    for (int64_t o = cols.hi; o < out; ++o) f(o);
}

// One kernel tap (i, j) = `pos` over the interior columns of an output row: src[ow * sw] is the tap of output ow.
// SW > 0 fixes the column stride at compile time (1: SPPF, 2: U^2-Net), which lets the compiler vectorise the strided
// load; SW = 0 reads it from sw.
template <int64_t SW>
void max_tap(const float* src, int64_t sw, Interior cols, int32_t pos, float* yr, int32_t* arg) {
    const int64_t s = SW > 0 ? SW : sw;
#pragma omp simd
    for (int64_t ow = cols.lo; ow < cols.hi; ++ow) {
        const float v = src[ow * s];
        const bool take = v > yr[ow] || v != v;  // strict >: the first maximum wins; NaN propagates
        yr[ow] = take ? v : yr[ow];
        arg[ow] = take ? pos : arg[ow];
    }
}

// One [H, W] plane of max pooling. tap_offset[i * kw + j] = i*dh*W + j*dw, the flat offset of a tap in its window.
void max_plane(const float* x, float* y, int64_t* idx, int64_t H, int64_t W, const PoolParams& p, Interior cols,
               const std::vector<int64_t>& tap_offset, std::vector<int32_t>& arg) {
    const int64_t kh = p.kernel_size.h, kw = p.kernel_size.w, sh = p.stride.h, sw = p.stride.w;
    const int64_t ph = p.padding.h, pw = p.padding.w, dh = p.dilation.h, dw = p.dilation.w, OW = p.out_w;
    for (int64_t oh = 0; oh < p.out_h; ++oh) {
        const int64_t h0 = oh * sh - ph;
        int64_t i_first = 0, i_end = kh;  // kernel rows inside the input: [i_first, i_end)
        while (i_first < kh && h0 + i_first * dh < 0) ++i_first;
        while (i_end > i_first && h0 + (i_end - 1) * dh >= H) --i_end;
        float* yr = y + oh * OW;      // [OW]
        int64_t* ir = idx + oh * OW;  // [OW]
        // interior columns: tap after tap in window order, each across the whole row
        std::fill(yr + cols.lo, yr + cols.hi, -std::numeric_limits<float>::infinity());
        std::fill(arg.begin() + cols.lo, arg.begin() + cols.hi, static_cast<int32_t>(i_first * kw));
        for (int64_t i = i_first; i < i_end; ++i)
            for (int64_t j = 0; j < kw; ++j) {
                const float* src = x + (h0 + i * dh) * W - pw + j * dw;
                const auto pos = static_cast<int32_t>(i * kw + j);
                if (sw == 1)
                    max_tap<1>(src, sw, cols, pos, yr, arg.data());
                else if (sw == 2)
                    max_tap<2>(src, sw, cols, pos, yr, arg.data());
                else
                    max_tap<0>(src, sw, cols, pos, yr, arg.data());
            }
        for (int64_t ow = cols.lo; ow < cols.hi; ++ow)  // -1: a window with no input row (as the reference)
            ir[ow] = i_first < i_end ? h0 * W + ow * sw - pw + tap_offset[arg[ow]] : -1;
        // border columns: the textbook loop with clipping
        for_each_border(cols, OW, [&](int64_t ow) {
            const int64_t w0 = ow * sw - pw;
            float best = -std::numeric_limits<float>::infinity();
            int64_t best_i = -1;
            for (int64_t i = i_first; i < i_end; ++i)
                for (int64_t j = 0; j < kw; ++j) {
                    const int64_t h = h0 + i * dh, w = w0 + j * dw;
                    if (w < 0 || w >= W) continue;
                    const float v = x[h * W + w];
                    if (best_i < 0 || max_wins(v, best)) {
                        best = v;
                        best_i = h * W + w;
                    }
                }
            yr[ow] = best;
            ir[ow] = best_i;
        });
    }
}

// One output pixel of channels-last max pooling: the running maximum of its window's input pixels (rows of C
// channels at `taps`, in window order) and the winning tap's position per channel, as 32-bit lanes that vectorise
// together. The first pixel is copied, then a later one wins by max_wins (backends/common/pool_math.h), as in the
// NCHW kernel, so ties and NaNs go where they go there.
NB_CPU_CLONES void max_pixel(const float* const* taps, int32_t n, int64_t C, float* y, int32_t* arg) {
    for (int64_t c = 0; c < C; ++c) y[c] = taps[0][c], arg[c] = 0;
    for (int32_t t = 1; t < n; ++t) {
        const float* x = taps[t];
        for (int64_t c = 0; c < C; ++c) {
            const bool win = max_wins(x[c], y[c]);
            y[c] = win ? x[c] : y[c];
            arg[c] = win ? t : arg[c];
        }
    }
}

// Channels-last: one output pixel at a time (max_pixel over its window's in-bounds input pixels), the argmax turned
// into PyTorch's flat h*W+w index at the end.
ValuesIndices max_pool_nhwc(const Tensor& x, const PoolParams& p) {
    const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), OH = p.out_h, OW = p.out_w;
    const int64_t K = p.kernel_size.h * p.kernel_size.w;
    Tensor y = make_tensor({N, C, OH, OW}, kFloat32, x.device(), MemoryFormat::ChannelsLast);
    Tensor indices = make_tensor(y.shape(), kInt64, x.device(), MemoryFormat::ChannelsLast);
    const float* px = x.data_ptr<float>();
    float* py = y.data_ptr<float>();
    int64_t* pi = indices.data_ptr<int64_t>();
    parallel_for(0, N * OH * OW, std::max<int64_t>(1, (1 << 14) / (C * K)), [&](int64_t begin, int64_t end) {
        std::vector<const float*> taps(static_cast<size_t>(K));
        std::vector<int64_t> at(static_cast<size_t>(K));  // each tap's flat h*W+w
        std::vector<int32_t> arg(static_cast<size_t>(C));
        for (int64_t o = begin; o < end; ++o) {
            const int64_t n = o / (OH * OW), oh = o / OW % OH, ow = o % OW;
            int32_t count = 0;
            for_each_max_tap(oh, ow, H, W, p, [&](int64_t h, int64_t w) {
                taps[count] = px + ((n * H + h) * W + w) * C;
                at[count++] = h * W + w;
            });
            float* yo = py + o * C;
            int64_t* io = pi + o * C;
            if (count == 0) {  // a window that misses the input
                std::fill(yo, yo + C, -std::numeric_limits<float>::infinity());
                std::fill(io, io + C, int64_t{-1});
                continue;
            }
            max_pixel(taps.data(), count, C, yo, arg.data());
            for (int64_t c = 0; c < C; ++c) io[c] = at[arg[c]];
        }
    });
    return {y, indices};
}

// Channels-last backward: gy scattered to the saved argmax pixels, one image per thread chunk (images are written
// by one thread only).
Tensor max_pool_nhwc_backward(const Tensor& gy, const Tensor& indices, const Shape& x_shape) {
    const int64_t N = x_shape[0], C = x_shape[1], HW = x_shape[2] * x_shape[3], OHW = gy.size(2) * gy.size(3);
    Tensor gx = make_tensor(x_shape, kFloat32, gy.device(), MemoryFormat::ChannelsLast);
    const float* pg = gy.data_ptr<float>();
    const int64_t* pi = indices.data_ptr<int64_t>();
    float* pgx = gx.data_ptr<float>();
    parallel_for(0, N, 1, [&](int64_t begin, int64_t end) {
        for (int64_t n = begin; n < end; ++n) {
            float* g = pgx + n * HW * C;
            std::memset(g, 0, static_cast<size_t>(HW * C) * sizeof(float));
            for (int64_t o = n * OHW; o < (n + 1) * OHW; ++o)
                for (int64_t c = 0; c < C; ++c)
                    if (pi[o * C + c] >= 0) g[pi[o * C + c] * C + c] += pg[o * C + c];
        }
    });
    return gx;
}

}  // namespace

ValuesIndices CpuBackend::max_pool2d(const Tensor& x, const PoolParams& p) {
    if (x.dtype() != kFloat32) return ReferenceBackend::max_pool2d(x, p);
    if (!x.is_contiguous()) return max_pool_nhwc(x, p);  // channels-last
    const int64_t planes = x.size(0) * x.size(1), H = x.size(2), W = x.size(3), OHW = p.out_h * p.out_w;
    Tensor y = make_tensor({x.size(0), x.size(1), p.out_h, p.out_w}, kFloat32, x.device());
    Tensor indices = make_tensor(y.shape(), kInt64, x.device());
    const Interior cols = interior(W, p.out_w, p.kernel_size.w, p.stride.w, p.padding.w, p.dilation.w);
    const float* px = x.data_ptr<float>();
    float* py = y.data_ptr<float>();
    int64_t* pi = indices.data_ptr<int64_t>();
    std::vector<int64_t> tap_offset;
    for (int64_t i = 0; i < p.kernel_size.h; ++i)
        for (int64_t j = 0; j < p.kernel_size.w; ++j) tap_offset.push_back(i * p.dilation.h * W + j * p.dilation.w);
    parallel_for(0, planes, plane_grain(H * W), [&](int64_t begin, int64_t end) {
        std::vector<int32_t> arg(static_cast<size_t>(p.out_w));  // winning kernel position per output column
        for (int64_t c = begin; c < end; ++c)
            max_plane(px + c * H * W, py + c * OHW, pi + c * OHW, H, W, p, cols, tap_offset, arg);
    });
    return {y, indices};
}

Tensor CpuBackend::max_pool2d_backward(const Tensor& gy, const Tensor& indices, const Shape& x_shape) {
    if (gy.dtype() != kFloat32) return ReferenceBackend::max_pool2d_backward(gy, indices, x_shape);
    if (!gy.is_contiguous()) return max_pool_nhwc_backward(gy, indices, x_shape);  // channels-last
    const int64_t planes = x_shape[0] * x_shape[1], HW = x_shape[2] * x_shape[3], OHW = gy.size(2) * gy.size(3);
    Tensor gx = make_tensor(x_shape, kFloat32, gy.device());
    const float* pg = gy.data_ptr<float>();
    const int64_t* pi = indices.data_ptr<int64_t>();
    float* pgx = gx.data_ptr<float>();
    parallel_for(0, planes, plane_grain(HW), [&](int64_t begin, int64_t end) {
        for (int64_t c = begin; c < end; ++c) {  // each plane is written by one thread only
            float* g = pgx + c * HW;
            std::memset(g, 0, static_cast<size_t>(HW) * sizeof(float));
            for (int64_t o = c * OHW; o < (c + 1) * OHW; ++o)
                if (pi[o] >= 0) g[pi[o]] += pg[o];  // -1 marks a window with no input element
        }
    });
    return gx;
}

Tensor CpuBackend::avg_pool2d(const Tensor& x, const PoolParams& p) {
    if (x.dtype() != kFloat32) return ReferenceBackend::avg_pool2d(x, p);
    const int64_t planes = x.size(0) * x.size(1), H = x.size(2), W = x.size(3), OH = p.out_h, OW = p.out_w;
    const int64_t kw = p.kernel_size.w, sw = p.stride.w, pw = p.padding.w;
    Tensor y = make_tensor({x.size(0), x.size(1), OH, OW}, kFloat32, x.device());
    const Interior cols = interior(W, OW, kw, sw, pw, 1);
    const float* px_all = x.data_ptr<float>();
    float* py_all = y.data_ptr<float>();
    parallel_for(0, planes, plane_grain(H * W), [&](int64_t begin, int64_t end) {
        for (int64_t c = begin; c < end; ++c) {
            const float* px = px_all + c * H * W;
            for (int64_t oh = 0; oh < OH; ++oh) {
                const AvgWindow wh = avg_window(oh, H, p.kernel_size.h, p.stride.h, p.padding.h);
                float* yr = py_all + c * OH * OW + oh * OW;  // [OW]
                // interior columns: sum tap by tap across ow, then divide (the window is kw wide in both counts)
                std::fill(yr + cols.lo, yr + cols.hi, 0.0f);
                for (int64_t h = wh.lo; h < wh.hi; ++h)
                    for (int64_t j = 0; j < kw; ++j) {
                        const float* src = px + h * W - pw + j;
#pragma omp simd
                        for (int64_t ow = cols.lo; ow < cols.hi; ++ow) yr[ow] += src[ow * sw];
                    }
                const AvgWindow inner{0, kw, kw};
                const float inv =
                    wh.lo < wh.hi ? 1.0f / static_cast<float>(avg_divisor(wh, inner, p.count_include_pad)) : 0.0f;
                for (int64_t ow = cols.lo; ow < cols.hi; ++ow) yr[ow] = wh.lo < wh.hi ? yr[ow] * inv : 0.0f;
                for_each_border(cols, OW, [&](int64_t ow) {
                    const AvgWindow ww = avg_window(ow, W, kw, sw, pw);
                    float sum = 0.0f;
                    for (int64_t h = wh.lo; h < wh.hi; ++h)
                        for (int64_t w = ww.lo; w < ww.hi; ++w) sum += px[h * W + w];
                    const bool empty = wh.lo >= wh.hi || ww.lo >= ww.hi;
                    yr[ow] = empty ? 0.0f : sum / static_cast<float>(avg_divisor(wh, ww, p.count_include_pad));
                });
            }
        }
    });
    return y;
}

Tensor CpuBackend::avg_pool2d_backward(const Tensor& gy, const Shape& x_shape, const PoolParams& p) {
    if (gy.dtype() != kFloat32) return ReferenceBackend::avg_pool2d_backward(gy, x_shape, p);
    const int64_t planes = x_shape[0] * x_shape[1], H = x_shape[2], W = x_shape[3], OH = p.out_h, OW = p.out_w;
    const int64_t kw = p.kernel_size.w, sw = p.stride.w, pw = p.padding.w;
    Tensor gx = make_tensor(x_shape, kFloat32, gy.device());
    const Interior cols = interior(W, OW, kw, sw, pw, 1);
    const float* pg_all = gy.data_ptr<float>();
    float* pgx_all = gx.data_ptr<float>();
    parallel_for(0, planes, plane_grain(H * W), [&](int64_t begin, int64_t end) {
        std::vector<float> share(static_cast<size_t>(OW));  // gy / divisor of each output of the row
        for (int64_t c = begin; c < end; ++c) {
            float* pgx = pgx_all + c * H * W;
            std::memset(pgx, 0, static_cast<size_t>(H * W) * sizeof(float));
            for (int64_t oh = 0; oh < OH; ++oh) {
                const AvgWindow wh = avg_window(oh, H, p.kernel_size.h, p.stride.h, p.padding.h);
                if (wh.lo >= wh.hi) continue;
                const float* gr = pg_all + c * OH * OW + oh * OW;  // [OW]
                for (int64_t ow = 0; ow < OW; ++ow) {
                    const AvgWindow ww = avg_window(ow, W, kw, sw, pw);
                    share[ow] =
                        ww.lo < ww.hi ? gr[ow] / static_cast<float>(avg_divisor(wh, ww, p.count_include_pad)) : 0.0f;
                }
                for (int64_t h = wh.lo; h < wh.hi; ++h) {
                    // interior columns tap by tap: within one tap distinct ow hit distinct w, so the loop vectorises
                    for (int64_t j = 0; j < kw; ++j) {
                        float* dst = pgx + h * W - pw + j;
#pragma omp simd
                        for (int64_t ow = cols.lo; ow < cols.hi; ++ow) dst[ow * sw] += share[ow];
                    }
                    for_each_border(cols, OW, [&](int64_t ow) {
                        const AvgWindow ww = avg_window(ow, W, kw, sw, pw);
                        for (int64_t w = ww.lo; w < ww.hi; ++w) pgx[h * W + w] += share[ow];
                    });
                }
            }
        }
    });
    return gx;
}

}  // namespace nabla
