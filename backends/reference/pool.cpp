// backends/reference/pool.cpp — placeholder: these kernels are not written yet; each throws NotImplementedError.
#include "backends/reference/reference_backend.h"

namespace nabla {

ValuesIndices ReferenceBackend::max_pool2d(const Tensor& x, const PoolParams& p) {
    (void)x; (void)p;
    not_implemented("max_pool2d");
}

Tensor ReferenceBackend::max_pool2d_backward(const Tensor& gy, const Tensor& indices, const Shape& x_shape) {
    (void)gy; (void)indices; (void)x_shape;
    not_implemented("max_pool2d_backward");
}

Tensor ReferenceBackend::avg_pool2d(const Tensor& x, const PoolParams& p) {
    (void)x; (void)p;
    not_implemented("avg_pool2d");
}

Tensor ReferenceBackend::avg_pool2d_backward(const Tensor& gy, const Shape& x_shape, const PoolParams& p) {
    (void)gy; (void)x_shape; (void)p;
    not_implemented("avg_pool2d_backward");
}

Tensor ReferenceBackend::adaptive_avg_pool2d(const Tensor& x, Int2 output_size) {
    (void)x; (void)output_size;
    not_implemented("adaptive_avg_pool2d");
}

Tensor ReferenceBackend::adaptive_avg_pool2d_backward(const Tensor& gy, const Shape& x_shape) {
    (void)gy; (void)x_shape;
    not_implemented("adaptive_avg_pool2d_backward");
}

}  // namespace nabla
