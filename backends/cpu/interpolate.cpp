// backends/cpu/interpolate.cpp — placeholder: delegates to the reference kernels until the fast path is written.
#include "backends/cpu/cpu_backend.h"

namespace nabla {

Tensor CpuBackend::upsample(const Tensor& x, const UpsampleParams& p) { return ReferenceBackend::upsample(x, p); }
Tensor CpuBackend::upsample_backward(const Tensor& gy, const Shape& x_shape, const UpsampleParams& p) {
    return ReferenceBackend::upsample_backward(gy, x_shape, p);
}

}  // namespace nabla
