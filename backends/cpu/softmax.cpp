// backends/cpu/softmax.cpp — placeholder: delegates to the reference kernels until the fast path is written.
#include "backends/cpu/cpu_backend.h"

namespace nabla {

Tensor CpuBackend::softmax(const Tensor& x, int64_t dim, bool log) { return ReferenceBackend::softmax(x, dim, log); }

Tensor CpuBackend::softmax_backward(const Tensor& gy, const Tensor& y, int64_t dim, bool log) { return ReferenceBackend::softmax_backward(gy, y, dim, log); }

}  // namespace nabla
