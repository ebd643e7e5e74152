// backends/cpu/pool.cpp — placeholder: delegates to the reference kernels until the fast path is written.
#include "backends/cpu/cpu_backend.h"

namespace nabla {

ValuesIndices CpuBackend::max_pool2d(const Tensor& x, const PoolParams& p) { return ReferenceBackend::max_pool2d(x, p); }

Tensor CpuBackend::max_pool2d_backward(const Tensor& gy, const Tensor& indices, const Shape& x_shape) { return ReferenceBackend::max_pool2d_backward(gy, indices, x_shape); }

Tensor CpuBackend::avg_pool2d(const Tensor& x, const PoolParams& p) { return ReferenceBackend::avg_pool2d(x, p); }

Tensor CpuBackend::avg_pool2d_backward(const Tensor& gy, const Shape& x_shape, const PoolParams& p) { return ReferenceBackend::avg_pool2d_backward(gy, x_shape, p); }

}  // namespace nabla
