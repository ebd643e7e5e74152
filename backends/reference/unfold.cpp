// backends/reference/unfold.cpp — im2col and col2im (F.unfold / F.fold) as textbook loops: the oracle of the cpu
// kernels. With k = kernel_size, s = stride, p = padding, d = dilation and L = out_h * out_w sliding blocks:
//   cols[n][c*kh*kw + a*kw + b][oy*out_w + ox] = x[n][c][oy*sh - ph + a*dh][ox*sw - pw + b*dw]   (0 outside)
//   x: [N, C, H, W] <-> cols: [N, C*kh*kw, L]
// col2im is the adjoint of im2col: it adds every column entry back into its pixel, summing overlaps.
#include "backends/reference/reference_backend.h"

namespace nabla {
namespace {

// The number of block positions along one axis (docs/ops_semantics.md §3).
int64_t blocks(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
    return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}

// Calls f(col_offset, pixel_offset_or_-1) for every entry of one image's columns; -1 marks the zero padding.
template <class F>
void for_each_col(int64_t C, int64_t H, int64_t W, const UnfoldOptions& o, F&& f) {
    const auto [kh, kw] = o.kernel_size;
    const int64_t OH = blocks(H, kh, o.stride.h, o.padding.h, o.dilation.h);
    const int64_t OW = blocks(W, kw, o.stride.w, o.padding.w, o.dilation.w);
    for (int64_t c = 0; c < C; ++c)
        for (int64_t a = 0; a < kh; ++a)
            for (int64_t b = 0; b < kw; ++b) {
                const int64_t row = (c * kh + a) * kw + b;
                for (int64_t oy = 0; oy < OH; ++oy)
                    for (int64_t ox = 0; ox < OW; ++ox) {
                        const int64_t iy = oy * o.stride.h - o.padding.h + a * o.dilation.h;
                        const int64_t ix = ox * o.stride.w - o.padding.w + b * o.dilation.w;
                        const bool inside = iy >= 0 && iy < H && ix >= 0 && ix < W;
                        f((row * OH + oy) * OW + ox, inside ? (c * H + iy) * W + ix : -1);
                    }
            }
}

}  // namespace

Tensor ReferenceBackend::im2col(const Tensor& x, const UnfoldOptions& o) {
    const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
    const int64_t L = blocks(H, o.kernel_size.h, o.stride.h, o.padding.h, o.dilation.h) *
                      blocks(W, o.kernel_size.w, o.stride.w, o.padding.w, o.dilation.w);
    const int64_t rows = C * o.kernel_size.h * o.kernel_size.w;
    Tensor cols = make_tensor({N, rows, L}, x.dtype(), x.device());  // [N, C*kh*kw, L]
    dispatch_floating(x.dtype(), "im2col", [&]<class T>() {
        for (int64_t n = 0; n < N; ++n) {
            const T* src = x.data_ptr<T>() + n * C * H * W;
            T* dst = cols.data_ptr<T>() + n * rows * L;
            for_each_col(C, H, W, o, [&](int64_t col, int64_t pix) { dst[col] = pix < 0 ? T(0) : src[pix]; });
        }
    });
    return cols;
}

Tensor ReferenceBackend::col2im(const Tensor& cols, Int2 output_size, const UnfoldOptions& o) {
    const int64_t N = cols.size(0), C = cols.size(1) / (o.kernel_size.h * o.kernel_size.w);
    const int64_t H = output_size.h, W = output_size.w, rows = cols.size(1), L = cols.size(2);
    Tensor x = kernel::zeros({N, C, H, W}, cols.options());  // [N, C, H, W]
    dispatch_floating(cols.dtype(), "col2im", [&]<class T>() {
        for (int64_t n = 0; n < N; ++n) {
            const T* src = cols.data_ptr<T>() + n * rows * L;
            T* dst = x.data_ptr<T>() + n * C * H * W;
            for_each_col(C, H, W, o, [&](int64_t col, int64_t pix) {
                if (pix >= 0) dst[pix] += src[col];
            });
        }
    });
    return x;
}

}  // namespace nabla
