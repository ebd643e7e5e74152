// ops/matmul.h — torch.matmul (1-D, 2-D and batched with broadcast batch dims), torch.mm, torch.bmm and F.linear.
// Shapes, broadcasting and the backward rules are in ops/matmul.cpp; float32 or float64, both operands alike.
#pragma once
#include "core/tensor.h"

namespace nabla {

// [K]·[K] -> [];  [M, K]·[K] -> [M];  [K]·[K, N] -> [N];  [..., M, K]·[..., K, N] -> [broadcast(...), M, N]
Tensor matmul(const Tensor& a, const Tensor& b);
Tensor mm(const Tensor& a, const Tensor& b);   // [M, K] @ [K, N] -> [M, N]
Tensor bmm(const Tensor& a, const Tensor& b);  // [B, M, K] @ [B, K, N] -> [B, M, N]
// x [*, in_features] @ weight [out_features, in_features]^T + bias [out_features] -> [*, out_features]; bias optional
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

}  // namespace nabla
