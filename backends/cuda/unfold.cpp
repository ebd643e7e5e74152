// backends/cuda/unfold.cpp — CudaBackend::im2col and col2im (F.unfold / F.fold): the geometry of the sliding blocks
// and the launchers of unfold.cu, with cols laid out [N, C*kh*kw, L] as the op layer expects.
#include "backends/cuda/unfold.h"

#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/device.h"

namespace nabla {
namespace {

// The number of block positions along one axis (docs/ops_semantics.md §3).
int64_t blocks(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
    return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}

// x [N, C, H, W] and cols [N, C*kh*kw, L].
cuda::ColGeometry unfold_geometry(int64_t n, int64_t c, int64_t h, int64_t w, const UnfoldOptions& o) {
    cuda::ColGeometry g{.n = n,
                        .c = c,
                        .h = h,
                        .w = w,
                        .kh = o.kernel_size.h,
                        .kw = o.kernel_size.w,
                        .sh = o.stride.h,
                        .sw = o.stride.w,
                        .ph = o.padding.h,
                        .pw = o.padding.w,
                        .dh = o.dilation.h,
                        .dw = o.dilation.w,
                        .oh = blocks(h, o.kernel_size.h, o.stride.h, o.padding.h, o.dilation.h),
                        .ow = blocks(w, o.kernel_size.w, o.stride.w, o.padding.w, o.dilation.w)};
    g.row_stride = g.oh * g.ow;
    g.n_stride = c * g.kh * g.kw * g.row_stride;
    return g;
}

}  // namespace

Tensor CudaBackend::im2col(const Tensor& x_in, const UnfoldOptions& o) {
    cuda::DeviceGuard guard(x_in.device());
    const Tensor x = kernel::contiguous(x_in);
    const cuda::ColGeometry g = unfold_geometry(x.size(0), x.size(1), x.size(2), x.size(3), o);
    Tensor cols = kernel::empty({g.n, g.c * g.kh * g.kw, g.oh * g.ow}, x.options());
    cuda::launch_im2col(x.dtype(), x.raw_data(), cols.raw_data(), g);
    return cols;
}

Tensor CudaBackend::col2im(const Tensor& cols_in, Int2 output_size, const UnfoldOptions& o) {
    cuda::DeviceGuard guard(cols_in.device());
    const Tensor cols = kernel::contiguous(cols_in);
    const int64_t c = cols.size(1) / (o.kernel_size.h * o.kernel_size.w);
    const cuda::ColGeometry g = unfold_geometry(cols.size(0), c, output_size.h, output_size.w, o);
    Tensor x = kernel::empty({g.n, c, g.h, g.w}, cols.options());  // every pixel written (0 where no block reaches)
    cuda::launch_col2im(cols.dtype(), cols.raw_data(), x.raw_data(), g);
    return x;
}

}  // namespace nabla
