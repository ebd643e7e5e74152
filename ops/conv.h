// ops/conv.h — torch.nn.functional.conv2d and conv_transpose2d (the math: docs/ops_semantics.md §6).
//   conv2d:           x [N, C_in, H, W], weight [C_out, C_in/groups, kh, kw], bias [C_out] -> [N, C_out, H_out, W_out]
//                     H_out = floor((H + 2p - d(kh-1) - 1) / s) + 1
//   conv_transpose2d: x [N, C_in, H, W], weight [C_in, C_out/groups, kh, kw], bias [C_out] -> [N, C_out, H_out, W_out]
//                     H_out = (H - 1)s - 2p + d(kh-1) + output_padding + 1
// An undefined bias (the default) means bias=None.
#pragma once
#include "backends/common/params.h"  // NormAct
#include "core/tensor.h"
#include "ops/options.h"

namespace nabla {

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), const Conv2dOptions& options = {});

// act(conv2d(...)) for act = relu or silu, the activation applied as the kernel writes y (a oneDNN post-op): the
// inference path of a conv + BatchNorm + activation whose BatchNorm was folded into weight and bias
// (nn/fusion.h conv_bn_act). Forward only: a ValueError when grad mode is on and an input requires grad.
Tensor conv2d_act(NormAct act, const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
                  const Conv2dOptions& options = {});

Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
                        const ConvTranspose2dOptions& options = {});

// The sliding-window count along one axis, shared by conv2d and unfold: floor((in + 2p - d(k-1) - 1) / s) + 1, or 0
// when the dilated kernel does not fit into the padded input.
int64_t conv_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation);

}  // namespace nabla
