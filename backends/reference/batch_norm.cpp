// backends/reference/batch_norm.cpp — placeholder: these kernels are not written yet; each throws NotImplementedError.
#include "backends/reference/reference_backend.h"

namespace nabla {

BatchNormResult ReferenceBackend::batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean, const Tensor& running_var, bool training, double momentum, double eps) {
    (void)x; (void)weight; (void)bias; (void)running_mean; (void)running_var; (void)training; (void)momentum; (void)eps;
    not_implemented("batch_norm");
}

ConvGrads ReferenceBackend::batch_norm_backward(const Tensor& gy, const Tensor& x, const Tensor& weight, const Tensor& save_mean, const Tensor& save_invstd, bool training, std::array<bool, 3> needs) {
    (void)gy; (void)x; (void)weight; (void)save_mean; (void)save_invstd; (void)training; (void)needs;
    not_implemented("batch_norm_backward");
}

}  // namespace nabla
