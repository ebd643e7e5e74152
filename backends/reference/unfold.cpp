// backends/reference/unfold.cpp — placeholder: these kernels are not written yet; each throws NotImplementedError.
#include "backends/reference/reference_backend.h"

namespace nabla {

Tensor ReferenceBackend::im2col(const Tensor& x, const UnfoldOptions& p) {
    (void)x; (void)p;
    not_implemented("im2col");
}

Tensor ReferenceBackend::col2im(const Tensor& cols, Int2 output_size, const UnfoldOptions& p) {
    (void)cols; (void)output_size; (void)p;
    not_implemented("col2im");
}

}  // namespace nabla
