// backends/cpu/matmul.cpp — placeholder: delegates to the reference kernels until the fast path is written.
#include "backends/cpu/cpu_backend.h"

namespace nabla {

Tensor CpuBackend::matmul(const Tensor& a, const Tensor& b) { return ReferenceBackend::matmul(a, b); }

}  // namespace nabla
