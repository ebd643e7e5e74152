// backends/reference/pool.cpp — max, average and adaptive average 2-D pooling and their backwards, one [H, W] plane
// at a time (torch's max_pool2d / avg_pool2d / adaptive_avg_pool2d CPU kernels, written as the textbook).
//   x: contiguous [N, C, H, W] -> y: [N, C, out_h, out_w]; planes = N*C are independent.
// Window of output (oh, ow): rows oh*s - p + i*d for i < k (likewise columns), clipped to the input; see
// ops/pool.cpp for the semantics of ceil_mode, count_include_pad and the adaptive windows. Sums accumulate in double.
// Backward: max scatter-adds gy to the saved argmax indices; avg and adaptive avg spread gy / divisor over the window.
#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "backends/common/pool_math.h"
#include "backends/reference/reference_backend.h"

namespace nabla {

namespace {

// The maximum of max_pool2d's window of output (oh, ow) in one [H, W] plane, and its flat index h*W+w. Strict >:
// the first maximum wins; a NaN wins and propagates. A window that misses the input gives (-inf, -1).
template <class T>
std::pair<T, int64_t> window_max(const T* plane, int64_t H, int64_t W, int64_t oh, int64_t ow, const PoolParams& p) {
    T best = -std::numeric_limits<T>::infinity();
    int64_t best_i = -1;
    for_each_max_tap(oh, ow, H, W, p, [&](int64_t h, int64_t w) {
        const T v = plane[h * W + w];
        if (best_i < 0 || max_wins(v, best)) {  // the first in-bounds element holds the place if nothing beats it
            best = v;
            best_i = h * W + w;
        }
    });
    return {best, best_i};
}

}  // namespace

ValuesIndices ReferenceBackend::max_pool2d(const Tensor& x, const PoolParams& p) {
    if (!x.is_contiguous()) {  // channels-last: the textbook loops on a plain copy, the results laid out as x
        const ValuesIndices r = max_pool2d(kernel::contiguous(x), p);
        return {kernel::contiguous(r.values, MemoryFormat::ChannelsLast),
                kernel::contiguous(r.indices, MemoryFormat::ChannelsLast)};
    }
    const int64_t planes = x.size(0) * x.size(1), H = x.size(2), W = x.size(3), OH = p.out_h, OW = p.out_w;
    Tensor y = make_tensor({x.size(0), x.size(1), OH, OW}, x.dtype(), x.device());
    Tensor indices = make_tensor(y.shape(), kInt64, x.device());
    dispatch_floating(x.dtype(), "max_pool2d", [&]<class T>() {
        for (int64_t c = 0; c < planes; ++c) {
            const T* px = x.data_ptr<T>() + c * H * W;
            T* py = y.data_ptr<T>() + c * OH * OW;
            int64_t* pi = indices.data_ptr<int64_t>() + c * OH * OW;
            for (int64_t oh = 0; oh < OH; ++oh)
                for (int64_t ow = 0; ow < OW; ++ow) {
                    const auto [best, best_i] = window_max(px, H, W, oh, ow, p);
                    py[oh * OW + ow] = best;
                    pi[oh * OW + ow] = best_i;
                }
        }
    });
    return {y, indices};
}

Tensor ReferenceBackend::max_pool2d_backward(const Tensor& gy, const Tensor& indices, const Shape& x_shape) {
    if (!gy.is_contiguous())  // channels-last
        return kernel::contiguous(max_pool2d_backward(kernel::contiguous(gy), kernel::contiguous(indices), x_shape),
                                  MemoryFormat::ChannelsLast);
    const int64_t planes = x_shape[0] * x_shape[1], HW = x_shape[2] * x_shape[3], OHW = gy.size(2) * gy.size(3);
    Tensor gx = make_tensor(x_shape, gy.dtype(), gy.device());
    dispatch_floating(gy.dtype(), "max_pool2d_backward", [&]<class T>() {
        T* pgx = gx.data_ptr<T>();
        std::fill(pgx, pgx + gx.numel(), T(0));
        for (int64_t c = 0; c < planes; ++c) {
            const T* pg = gy.data_ptr<T>() + c * OHW;
            const int64_t* pi = indices.data_ptr<int64_t>() + c * OHW;
            for (int64_t o = 0; o < OHW; ++o)  // overlapping windows add up; -1 is a window with no input element
                if (pi[o] >= 0) pgx[c * HW + pi[o]] += pg[o];
        }
    });
    return gx;
}

Tensor ReferenceBackend::avg_pool2d(const Tensor& x, const PoolParams& p) {
    const int64_t planes = x.size(0) * x.size(1), H = x.size(2), W = x.size(3), OH = p.out_h, OW = p.out_w;
    Tensor y = make_tensor({x.size(0), x.size(1), OH, OW}, x.dtype(), x.device());
    dispatch_floating(x.dtype(), "avg_pool2d", [&]<class T>() {
        for (int64_t c = 0; c < planes; ++c) {
            const T* px = x.data_ptr<T>() + c * H * W;
            T* py = y.data_ptr<T>() + c * OH * OW;
            for (int64_t oh = 0; oh < OH; ++oh)
                for (int64_t ow = 0; ow < OW; ++ow) {
                    const AvgWindow wh = avg_window(oh, H, p.kernel_size.h, p.stride.h, p.padding.h);
                    const AvgWindow ww = avg_window(ow, W, p.kernel_size.w, p.stride.w, p.padding.w);
                    if (wh.lo >= wh.hi || ww.lo >= ww.hi) {  // a window wholly in the padding
                        py[oh * OW + ow] = T(0);
                        continue;
                    }
                    double sum = 0;
                    for (int64_t h = wh.lo; h < wh.hi; ++h)
                        for (int64_t w = ww.lo; w < ww.hi; ++w) sum += static_cast<double>(px[h * W + w]);
                    py[oh * OW + ow] =
                        static_cast<T>(sum / static_cast<double>(avg_divisor(wh, ww, p.count_include_pad)));
                }
        }
    });
    return y;
}

Tensor ReferenceBackend::avg_pool2d_backward(const Tensor& gy, const Shape& x_shape, const PoolParams& p) {
    const int64_t planes = x_shape[0] * x_shape[1], H = x_shape[2], W = x_shape[3], OH = p.out_h, OW = p.out_w;
    Tensor gx = make_tensor(x_shape, gy.dtype(), gy.device());
    dispatch_floating(gy.dtype(), "avg_pool2d_backward", [&]<class T>() {
        T* pgx_all = gx.data_ptr<T>();
        std::fill(pgx_all, pgx_all + gx.numel(), T(0));
        for (int64_t c = 0; c < planes; ++c) {
            const T* pg = gy.data_ptr<T>() + c * OH * OW;
            T* pgx = pgx_all + c * H * W;
            for (int64_t oh = 0; oh < OH; ++oh)
                for (int64_t ow = 0; ow < OW; ++ow) {
                    const AvgWindow wh = avg_window(oh, H, p.kernel_size.h, p.stride.h, p.padding.h);
                    const AvgWindow ww = avg_window(ow, W, p.kernel_size.w, p.stride.w, p.padding.w);
                    if (wh.lo >= wh.hi || ww.lo >= ww.hi) continue;
                    const T share = pg[oh * OW + ow] / static_cast<T>(avg_divisor(wh, ww, p.count_include_pad));
                    for (int64_t h = wh.lo; h < wh.hi; ++h)
                        for (int64_t w = ww.lo; w < ww.hi; ++w) pgx[h * W + w] += share;
                }
        }
    });
    return gx;
}

// The two adaptive kernels also serve the cpu backend, hence the parallel loop over planes.
Tensor ReferenceBackend::adaptive_avg_pool2d(const Tensor& x, Int2 output_size) {
    const int64_t planes = x.size(0) * x.size(1), H = x.size(2), W = x.size(3), OH = output_size.h, OW = output_size.w;
    Tensor y = make_tensor({x.size(0), x.size(1), OH, OW}, x.dtype(), x.device());
    dispatch_floating(x.dtype(), "adaptive_avg_pool2d", [&]<class T>() {
        const T* px_all = x.data_ptr<T>();
        T* py_all = y.data_ptr<T>();
#pragma omp parallel for
        for (int64_t c = 0; c < planes; ++c) {
            const T* px = px_all + c * H * W;
            T* py = py_all + c * OH * OW;
            for (int64_t oh = 0; oh < OH; ++oh) {
                const int64_t h0 = adaptive_start(oh, H, OH), h1 = adaptive_end(oh, H, OH);
                for (int64_t ow = 0; ow < OW; ++ow) {
                    const int64_t w0 = adaptive_start(ow, W, OW), w1 = adaptive_end(ow, W, OW);
                    double sum = 0;
                    for (int64_t h = h0; h < h1; ++h)
                        for (int64_t w = w0; w < w1; ++w) sum += static_cast<double>(px[h * W + w]);
                    py[oh * OW + ow] = static_cast<T>(sum / static_cast<double>((h1 - h0) * (w1 - w0)));
                }
            }
        }
    });
    return y;
}

Tensor ReferenceBackend::adaptive_avg_pool2d_backward(const Tensor& gy, const Shape& x_shape) {
    const int64_t planes = x_shape[0] * x_shape[1], H = x_shape[2], W = x_shape[3], OH = gy.size(2), OW = gy.size(3);
    Tensor gx = make_tensor(x_shape, gy.dtype(), gy.device());
    dispatch_floating(gy.dtype(), "adaptive_avg_pool2d_backward", [&]<class T>() {
        const T* pg_all = gy.data_ptr<T>();
        T* pgx_all = gx.data_ptr<T>();
#pragma omp parallel for
        for (int64_t c = 0; c < planes; ++c) {
            const T* pg = pg_all + c * OH * OW;
            T* pgx = pgx_all + c * H * W;
            std::fill(pgx, pgx + H * W, T(0));
            for (int64_t oh = 0; oh < OH; ++oh) {
                const int64_t h0 = adaptive_start(oh, H, OH), h1 = adaptive_end(oh, H, OH);
                for (int64_t ow = 0; ow < OW; ++ow) {
                    const int64_t w0 = adaptive_start(ow, W, OW), w1 = adaptive_end(ow, W, OW);
                    const T share = pg[oh * OW + ow] / static_cast<T>((h1 - h0) * (w1 - w0));
                    for (int64_t h = h0; h < h1; ++h)
                        for (int64_t w = w0; w < w1; ++w) pgx[h * W + w] += share;
                }
            }
        }
    });
    return gx;
}

}  // namespace nabla
