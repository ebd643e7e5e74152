// backends/cuda/softmax.cpp — CudaBackend::softmax and softmax_backward: a contiguous tensor seen as
// [outer, n, inner] around `dim` (n = size(dim)), handed to the kernels of softmax.cu; the result is contiguous.
#include "backends/cuda/softmax.h"

#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/device.h"

namespace nabla {

namespace {

struct Rows {  // the rows along dim: row (o, i) is data[o * n * inner + i + k * inner], k < n
    int64_t outer = 1, n = 1, inner = 1;
};
Rows rows_of(const Shape& shape, int64_t dim) {
    Rows r;
    r.n = shape[static_cast<size_t>(dim)];
    for (int64_t d = 0; d < dim; ++d) r.outer *= shape[static_cast<size_t>(d)];
    for (int64_t d = dim + 1; d < static_cast<int64_t>(shape.size()); ++d) r.inner *= shape[static_cast<size_t>(d)];
    return r;
}

}  // namespace

Tensor CudaBackend::softmax(const Tensor& x_in, int64_t dim, bool log) {
    cuda::DeviceGuard guard(x_in.device());
    const Tensor x = kernel::contiguous(x_in);  // the op layer passes it contiguous already
    Tensor y = kernel::empty(x.shape(), x.options());
    if (x.numel() == 0) return y;
    const Rows r = rows_of(x.shape(), dim);
    cuda::launch_softmax(x.dtype(), log, x.raw_data(), y.raw_data(), r.outer, r.n, r.inner);
    return y;
}

Tensor CudaBackend::softmax_backward(const Tensor& gy_in, const Tensor& y_in, int64_t dim, bool log) {
    cuda::DeviceGuard guard(y_in.device());
    const Tensor gy = kernel::contiguous(gy_in), y = kernel::contiguous(y_in);
    Tensor gx = kernel::empty(y.shape(), y.options());
    if (y.numel() == 0) return gx;
    const Rows r = rows_of(y.shape(), dim);
    cuda::launch_softmax_backward(y.dtype(), log, gy.raw_data(), y.raw_data(), gx.raw_data(), r.outer, r.n, r.inner);
    return gx;
}

}  // namespace nabla
