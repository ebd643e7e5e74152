// backends/cpu/reduce.cpp — placeholder: delegates to the reference kernels until the fast path is written.
#include "backends/cpu/cpu_backend.h"

namespace nabla {

Tensor CpuBackend::reduce(ReduceOp op, const Tensor& x, const Shape& dims, bool keepdim) { return ReferenceBackend::reduce(op, x, dims, keepdim); }

}  // namespace nabla
