// backends/cpu/batch_norm.cpp — placeholder: delegates to the reference kernels until the fast path is written.
#include "backends/cpu/cpu_backend.h"

namespace nabla {

BatchNormResult CpuBackend::batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean, const Tensor& running_var, bool training, double momentum, double eps) { return ReferenceBackend::batch_norm(x, weight, bias, running_mean, running_var, training, momentum, eps); }

ConvGrads CpuBackend::batch_norm_backward(const Tensor& gy, const Tensor& x, const Tensor& weight, const Tensor& save_mean, const Tensor& save_invstd, bool training, std::array<bool, 3> needs) { return ReferenceBackend::batch_norm_backward(gy, x, weight, save_mean, save_invstd, training, needs); }

}  // namespace nabla
