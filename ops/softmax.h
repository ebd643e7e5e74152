// ops/softmax.h — torch.softmax and log_softmax along one dim (y = exp(x - max) / sum exp(x - max)); x is float32
// or float64 of any shape, y has x's shape. Backward rules in ops/softmax.cpp.
#pragma once
#include "core/tensor.h"

namespace nabla {

Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);

}  // namespace nabla
