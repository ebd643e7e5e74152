// backends/cpu/unfold.cpp — placeholder: delegates to the reference kernels until the fast path is written.
#include "backends/cpu/cpu_backend.h"

namespace nabla {

Tensor CpuBackend::im2col(const Tensor& x, const UnfoldOptions& p) { return ReferenceBackend::im2col(x, p); }
Tensor CpuBackend::col2im(const Tensor& cols, Int2 output_size, const UnfoldOptions& p) {
    return ReferenceBackend::col2im(cols, output_size, p);
}

}  // namespace nabla
