// ops/matmul.cpp — placeholder until the matmul family lands.
#include "ops/matmul.h"

namespace nabla {
Tensor matmul(const Tensor&, const Tensor&) { throw NotImplementedError("matmul: not implemented yet"); }
Tensor mm(const Tensor& a, const Tensor& b) { return matmul(a, b); }
Tensor bmm(const Tensor& a, const Tensor& b) { return matmul(a, b); }
Tensor linear(const Tensor&, const Tensor&, const Tensor&) { throw NotImplementedError("linear: not implemented yet"); }
}  // namespace nabla
