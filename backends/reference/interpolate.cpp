// backends/reference/interpolate.cpp — upsample and upsample_backward (F.interpolate: nearest, bilinear, bicubic) as
// textbook loops: the oracle of the cpu kernels.
//   x: [N, C, H, W] contiguous -> y: [N, C, out_h, out_w]
//   y[n][c][oy][ox] = sum_a sum_b wy[a] wx[b] x[n][c][iy[a]][ix[b]]
// with the 1-D taps (iy, wy) and (ix, wx) of backends/common/interpolate_math.h.
// The backward scatter-adds gy * wy[a] wx[b] to the same input pixels, so clamped border taps accumulate. It is the
// exact adjoint of the forward (PyTorch's bicubic backward copies when in == out, even when its forward does not).
#include <vector>

#include "backends/common/interpolate_math.h"
#include "backends/reference/reference_backend.h"

namespace nabla {
namespace {

// The taps of every output row (axis H) or column (axis W).
template <class T>
std::vector<UpsampleTaps<T>> axis_taps(const UpsampleParams& p, double r, int64_t in, int64_t out) {
    std::vector<UpsampleTaps<T>> taps(out);
    for (int64_t d = 0; d < out; ++d) taps[d] = upsample_taps<T>(p.mode, r, d, in, out, p.align_corners);
    return taps;
}

}  // namespace

Tensor ReferenceBackend::upsample(const Tensor& x, const UpsampleParams& p) {
    if (!x.is_contiguous())  // channels-last: the textbook loops on a plain copy, the result laid out as x
        return kernel::contiguous(upsample(kernel::contiguous(x), p), MemoryFormat::ChannelsLast);
    const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), OH = p.out_h, OW = p.out_w;
    Tensor y = make_tensor({N, C, OH, OW}, x.dtype(), x.device());  // [N, C, OH, OW]
    dispatch_floating(x.dtype(), "upsample", [&]<class T>() {
        const auto ty = axis_taps<T>(p, p.scale_h, H, OH);
        const auto tx = axis_taps<T>(p, p.scale_w, W, OW);
        const T* px = x.data_ptr<T>();
        T* py = y.data_ptr<T>();
        for (int64_t nc = 0; nc < N * C; ++nc) {
            const T* src = px + nc * H * W;  // one [H, W] plane
            T* dst = py + nc * OH * OW;
            for (int64_t oy = 0; oy < OH; ++oy) {
                for (int64_t ox = 0; ox < OW; ++ox) {
                    T acc = T(0);
                    for (int a = 0; a < ty[oy].n; ++a) {
                        T row = T(0);
                        for (int b = 0; b < tx[ox].n; ++b) row += tx[ox].w[b] * src[ty[oy].idx[a] * W + tx[ox].idx[b]];
                        acc += ty[oy].w[a] * row;
                    }
                    dst[oy * OW + ox] = acc;
                }
            }
        }
    });
    return y;
}

Tensor ReferenceBackend::upsample_backward(const Tensor& gy, const Shape& x_shape, const UpsampleParams& p) {
    if (!gy.is_contiguous())  // channels-last
        return kernel::contiguous(upsample_backward(kernel::contiguous(gy), x_shape, p), MemoryFormat::ChannelsLast);
    const int64_t N = x_shape[0], C = x_shape[1], H = x_shape[2], W = x_shape[3], OH = p.out_h, OW = p.out_w;
    Tensor gx = kernel::zeros(x_shape, gy.options());  // [N, C, H, W]
    dispatch_floating(gy.dtype(), "upsample_backward", [&]<class T>() {
        const auto ty = axis_taps<T>(p, p.scale_h, H, OH);
        const auto tx = axis_taps<T>(p, p.scale_w, W, OW);
        const T* pg = gy.data_ptr<T>();
        T* pgx = gx.data_ptr<T>();
        for (int64_t nc = 0; nc < N * C; ++nc) {
            const T* g = pg + nc * OH * OW;
            T* dst = pgx + nc * H * W;
            for (int64_t oy = 0; oy < OH; ++oy)
                for (int64_t ox = 0; ox < OW; ++ox)
                    for (int a = 0; a < ty[oy].n; ++a)
                        for (int b = 0; b < tx[ox].n; ++b)
                            dst[ty[oy].idx[a] * W + tx[ox].idx[b]] += ty[oy].w[a] * tx[ox].w[b] * g[oy * OW + ox];
        }
    });
    return gx;
}

}  // namespace nabla
