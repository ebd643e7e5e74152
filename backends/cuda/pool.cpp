// backends/cuda/pool.cpp — CudaBackend's pooling methods: the host side of backends/cuda/pool.cu. The kernels read
// contiguous NCHW, so a channels-last input (max_pool2d takes one as it is) becomes a plain copy first, and every
// result is contiguous NCHW, which the kernel interface allows; the backward of a channels-last max_pool2d then gets
// contiguous gy and indices, and any it is given are made contiguous as well.
#include "backends/cuda/pool.h"

#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/device.h"

namespace nabla {

ValuesIndices CudaBackend::max_pool2d(const Tensor& x, const PoolParams& p) {
    cuda::DeviceGuard guard(x.device());
    const Tensor xc = kernel::contiguous(x);  // [N, C, H, W]
    const int64_t N = xc.size(0), C = xc.size(1), H = xc.size(2), W = xc.size(3);
    Tensor y = kernel::empty({N, C, p.out_h, p.out_w}, xc.options());
    Tensor indices = kernel::empty(y.shape(), {kInt64, xc.device()});
    cuda::launch_max_pool2d(xc.dtype(), xc.raw_data(), y.raw_data(), indices.data_ptr<int64_t>(), N * C, H, W, p);
    return {y, indices};
}

Tensor CudaBackend::max_pool2d_backward(const Tensor& gy, const Tensor& indices, const Shape& x_shape) {
    cuda::DeviceGuard guard(gy.device());
    const Tensor g = kernel::contiguous(gy), idx = kernel::contiguous(indices);  // [N, C, OH, OW] both
    Tensor gx = kernel::empty(x_shape, g.options());                             // zeroed by the launcher
    cuda::launch_max_pool2d_backward(g.dtype(), g.raw_data(), idx.data_ptr<int64_t>(), gx.raw_data(),
                                     x_shape[0] * x_shape[1], x_shape[2] * x_shape[3], g.size(2) * g.size(3));
    return gx;
}

Tensor CudaBackend::avg_pool2d(const Tensor& x, const PoolParams& p) {
    cuda::DeviceGuard guard(x.device());
    const Tensor xc = kernel::contiguous(x);  // [N, C, H, W]
    const int64_t N = xc.size(0), C = xc.size(1), H = xc.size(2), W = xc.size(3);
    Tensor y = kernel::empty({N, C, p.out_h, p.out_w}, xc.options());
    cuda::launch_avg_pool2d(xc.dtype(), xc.raw_data(), y.raw_data(), N * C, H, W, p);
    return y;
}

Tensor CudaBackend::avg_pool2d_backward(const Tensor& gy, const Shape& x_shape, const PoolParams& p) {
    cuda::DeviceGuard guard(gy.device());
    const Tensor g = kernel::contiguous(gy);  // [N, C, OH, OW]
    Tensor gx = kernel::empty(x_shape, g.options());
    cuda::launch_avg_pool2d_backward(g.dtype(), g.raw_data(), gx.raw_data(), x_shape[0] * x_shape[1], x_shape[2],
                                     x_shape[3], p);
    return gx;
}

Tensor CudaBackend::adaptive_avg_pool2d(const Tensor& x, Int2 output_size) {
    cuda::DeviceGuard guard(x.device());
    const Tensor xc = kernel::contiguous(x);  // [N, C, H, W]
    const int64_t N = xc.size(0), C = xc.size(1), H = xc.size(2), W = xc.size(3);
    Tensor y = kernel::empty({N, C, output_size.h, output_size.w}, xc.options());
    cuda::launch_adaptive_avg_pool2d(xc.dtype(), xc.raw_data(), y.raw_data(), N * C, H, W, output_size.h,
                                     output_size.w);
    return y;
}

Tensor CudaBackend::adaptive_avg_pool2d_backward(const Tensor& gy, const Shape& x_shape) {
    cuda::DeviceGuard guard(gy.device());
    const Tensor g = kernel::contiguous(gy);  // [N, C, OH, OW]
    Tensor gx = kernel::empty(x_shape, g.options());
    cuda::launch_adaptive_avg_pool2d_backward(g.dtype(), g.raw_data(), gx.raw_data(), x_shape[0] * x_shape[1],
                                              x_shape[2], x_shape[3], g.size(2), g.size(3));
    return gx;
}

}  // namespace nabla
