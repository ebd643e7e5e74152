// backends/cpu/eltwise_dnnl.h — the transcendental unary ops (exp, log, sigmoid, tanh, silu, softplus) on oneDNN's
// JIT eltwise primitives, whose vectorised exp/log run several times faster than the C library's scalar ones.
#pragma once
#include "backends/common/params.h"
#include "core/tensor.h"

namespace nabla::dnnl_util {

// Both return false (and do nothing) when oneDNN has no matching algorithm or the tensors are not dense float32.
bool eltwise_forward(UnaryOp op, const Tensor& x, const Tensor& out, UnaryArgs args);
bool eltwise_backward(UnaryOp op, const Tensor& gy, const Tensor& saved, const Tensor& gx, UnaryArgs args);

}  // namespace nabla::dnnl_util
