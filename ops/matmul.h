// ops/matmul.h — torch.matmul (1-D, 2-D and batched with broadcast batch dims), mm, bmm and F.linear.
#pragma once
#include "core/tensor.h"

namespace nabla {

Tensor matmul(const Tensor& a, const Tensor& b);
Tensor mm(const Tensor& a, const Tensor& b);    // [M, K] @ [K, N]
Tensor bmm(const Tensor& a, const Tensor& b);   // [B, M, K] @ [B, K, N]
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());  // x @ weight.T + bias

}  // namespace nabla
