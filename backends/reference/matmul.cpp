// backends/reference/matmul.cpp — placeholder: these kernels are not written yet; each throws NotImplementedError.
#include "backends/reference/reference_backend.h"

namespace nabla {

Tensor ReferenceBackend::matmul(const Tensor& a, const Tensor& b) {
    (void)a; (void)b;
    not_implemented("matmul");
}

}  // namespace nabla
