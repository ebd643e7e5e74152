// backends/reference/interpolate.cpp — placeholder: these kernels are not written yet; each throws NotImplementedError.
#include "backends/reference/reference_backend.h"

namespace nabla {

Tensor ReferenceBackend::upsample(const Tensor& x, const UpsampleParams& p) {
    (void)x; (void)p;
    not_implemented("upsample");
}

Tensor ReferenceBackend::upsample_backward(const Tensor& gy, const Shape& x_shape, const UpsampleParams& p) {
    (void)gy; (void)x_shape; (void)p;
    not_implemented("upsample_backward");
}

}  // namespace nabla
