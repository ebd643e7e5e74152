// backends/reference/softmax.cpp — placeholder: these kernels are not written yet; each throws NotImplementedError.
#include "backends/reference/reference_backend.h"

namespace nabla {

Tensor ReferenceBackend::softmax(const Tensor& x, int64_t dim, bool log) {
    (void)x; (void)dim; (void)log;
    not_implemented("softmax");
}

Tensor ReferenceBackend::softmax_backward(const Tensor& gy, const Tensor& y, int64_t dim, bool log) {
    (void)gy; (void)y; (void)dim; (void)log;
    not_implemented("softmax_backward");
}

}  // namespace nabla
