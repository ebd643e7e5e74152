// backends/cuda/unfold.h — the launchers of im2col and col2im (unfold.cu): F.unfold / F.fold, and the column
// matrices of the im2col convolution (conv_gemm.cpp). The math is backends/reference/unfold.cpp's:
//   cols(n, (c*kh + a)*kw + b, oy*ow + ox) = x[n][c][oy*sh - ph + a*dh][ox*sw - pw + b*dw]   (0 outside)
// col2im is its adjoint: every column entry added back into its pixel, overlaps summed.
// Where cols(n, row, l) lives is up to the caller (ColGeometry's two strides, l always unit-stride): F.unfold wants
// [N, rows, L] (n_stride = rows*L, row_stride = L); the conv wants [rows, N, L] (n_stride = L, row_stride = N*L), so
// that one GEMM per group covers a whole chunk of the batch.
#pragma once
#include <cstdint>

#include "core/dtype.h"

namespace nabla::cuda {

struct ColGeometry {
    int64_t n = 0, c = 0, h = 0, w = 0;    // the image x [n, c, h, w], contiguous
    int64_t kh = 1, kw = 1;                // kernel
    int64_t sh = 1, sw = 1;                // stride
    int64_t ph = 0, pw = 0;                // padding
    int64_t dh = 1, dw = 1;                // dilation
    int64_t oh = 0, ow = 0;                // the grid of window positions, L = oh * ow
    int64_t n_stride = 0, row_stride = 0;  // cols(n, row, l) is at n * n_stride + row * row_stride + l
};

// cols <- im2col(x): every entry of cols(n, row, l) written (zeros for the padding). Float32 or float64.
void launch_im2col(DType dtype, const void* x, void* cols, const ColGeometry& g);
// x <- col2im(cols): every pixel of x written (0 where no window reaches), so x needs no zeroing.
void launch_col2im(DType dtype, const void* cols, void* x, const ColGeometry& g);

}  // namespace nabla::cuda
