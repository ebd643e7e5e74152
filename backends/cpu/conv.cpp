// backends/cpu/conv.cpp — placeholder: delegates to the reference kernels until the fast path is written.
#include "backends/cpu/cpu_backend.h"

namespace nabla {

Tensor CpuBackend::conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const ConvParams& p) { return ReferenceBackend::conv2d(x, w, b, p); }

ConvGrads CpuBackend::conv2d_backward(const Tensor& gy, const Tensor& x, const Tensor& w, const ConvParams& p, std::array<bool, 3> needs) { return ReferenceBackend::conv2d_backward(gy, x, w, p, needs); }

Tensor CpuBackend::conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b, const ConvParams& p) { return ReferenceBackend::conv_transpose2d(x, w, b, p); }

ConvGrads CpuBackend::conv_transpose2d_backward(const Tensor& gy, const Tensor& x, const Tensor& w, const ConvParams& p, std::array<bool, 3> needs) { return ReferenceBackend::conv_transpose2d_backward(gy, x, w, p, needs); }

}  // namespace nabla
