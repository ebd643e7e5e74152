// backends/cuda/conv_host.h — the host-side helpers both convolution paths share (conv_cudnn.cpp and conv_gemm.cpp;
// one of them is linked): the bias and activation epilogue, the bias gradient, output sizes, and the zero results of
// a conv over nothing. The kernels behind the first two are conv_common.cu's.
#pragma once
#include "backends/backend.h"
#include "backends/cuda/conv_common.h"

namespace nabla::cuda {

// y [N, C, H, W] = act(y + bias) in place; nothing to do without either.
inline void bias_act_(const Tensor& y, const Tensor& bias, NormAct act) {
    if (!bias.defined() && act == NormAct::None) return;
    const int64_t c = y.size(1), hw = y.size(2) * y.size(3);
    launch_conv_epilogue(y.dtype(), y.raw_data(), c * hw, hw, y.raw_data(), bias.defined() ? bias.raw_data() : nullptr,
                         y.size(0), c, hw, act);
}

// gb [C] = sum of gy [N, C, H, W] over n, h, w.
inline Tensor bias_grad(const Tensor& gy) {
    const int64_t n = gy.size(0), c = gy.size(1), hw = gy.size(2) * gy.size(3);
    Tensor gb = kernel::empty({c}, gy.options());
    const size_t bytes = conv_bias_grad_workspace(gy.dtype(), n, c, hw);
    const Tensor workspace = bytes > 0 ? kernel::empty({static_cast<int64_t>(bytes)}, {kUInt8, gy.device()}) : Tensor();
    launch_conv_bias_grad(gy.dtype(), gy.raw_data(), gb.raw_data(), n, c, hw,
                          workspace.defined() ? workspace.raw_data() : nullptr);
    return gb;
}

// A gradient or output of `shape` that a conv over nothing leaves at zero (no images, channels or kernel taps).
inline Tensor zeros_if(bool wanted, const Shape& shape, const Tensor& like) {
    return wanted ? kernel::zeros(shape, like.options()) : Tensor();
}

// The output size along one axis (docs/ops_semantics.md §6).
inline int64_t conv_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
    return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}
inline int64_t transposed_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, int64_t output_padding) {
    return (in - 1) * s - 2 * p + d * (k - 1) + output_padding + 1;
}

}  // namespace nabla::cuda
