// backends/cuda/interpolate.cpp — CudaBackend's upsample and upsample_backward: the host side of
// backends/cuda/interpolate.cu. The kernels read contiguous NCHW, so a channels-last x (or gy) becomes a plain copy
// first, and the result is contiguous NCHW, which the kernel interface allows.
#include "backends/cuda/interpolate.h"

#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/device.h"

namespace nabla {

Tensor CudaBackend::upsample(const Tensor& x, const UpsampleParams& p) {
    cuda::DeviceGuard guard(x.device());
    const Tensor xc = kernel::contiguous(x);  // [N, C, H, W]
    const int64_t N = xc.size(0), C = xc.size(1), H = xc.size(2), W = xc.size(3);
    Tensor y = kernel::empty({N, C, p.out_h, p.out_w}, xc.options());
    cuda::launch_upsample(xc.dtype(), xc.raw_data(), y.raw_data(), N * C, H, W, p);
    return y;
}

Tensor CudaBackend::upsample_backward(const Tensor& gy, const Shape& x_shape, const UpsampleParams& p) {
    cuda::DeviceGuard guard(gy.device());
    const Tensor g = kernel::contiguous(gy);          // [N, C, out_h, out_w]
    Tensor gx = kernel::empty(x_shape, g.options());  // [N, C, H, W], written (or zeroed) by the launcher
    cuda::launch_upsample_backward(g.dtype(), g.raw_data(), gx.raw_data(), x_shape[0] * x_shape[1], x_shape[2],
                                   x_shape[3], p);
    return gx;
}

}  // namespace nabla
