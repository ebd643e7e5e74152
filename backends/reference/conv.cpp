// backends/reference/conv.cpp — placeholder: these kernels are not written yet; each throws NotImplementedError.
#include "backends/reference/reference_backend.h"

namespace nabla {

Tensor ReferenceBackend::conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const ConvParams& p) {
    (void)x; (void)w; (void)b; (void)p;
    not_implemented("conv2d");
}

ConvGrads ReferenceBackend::conv2d_backward(const Tensor& gy, const Tensor& x, const Tensor& w, const ConvParams& p, std::array<bool, 3> needs) {
    (void)gy; (void)x; (void)w; (void)p; (void)needs;
    not_implemented("conv2d_backward");
}

Tensor ReferenceBackend::conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b, const ConvParams& p) {
    (void)x; (void)w; (void)b; (void)p;
    not_implemented("conv_transpose2d");
}

ConvGrads ReferenceBackend::conv_transpose2d_backward(const Tensor& gy, const Tensor& x, const Tensor& w, const ConvParams& p, std::array<bool, 3> needs) {
    (void)gy; (void)x; (void)w; (void)p; (void)needs;
    not_implemented("conv_transpose2d_backward");
}

}  // namespace nabla
