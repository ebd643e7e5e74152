// nn/fusion.h — when consecutive layers run as one kernel. Results are those of the layers called one by one (within
// float rounding); state dicts do not change. A registered forward hook turns fusion off, since a hook sees every
// module's own output, which a fused kernel never makes.
//   training or with gradients:  BatchNorm2d + ReLU/SiLU  ->  batch_norm_act (ops/batch_norm.h): no activation tensor
//   inference (eval, no grad):   Conv2d + BatchNorm2d [+ ReLU/SiLU]  ->  the BatchNorm folded into the conv's weight
//                                and bias, and conv2d_act (ops/conv.h): the activation as a oneDNN post-op
// The folding (torch.nn.utils.fusion.fuse_conv_bn_eval): s = γ / sqrt(running_var + eps), w' = w · s per output
// channel, b' = (b − running_mean) · s + β. It is recomputed at every call (a pass over the conv's weight, 1-3% of
// the forward), so a weight changed by any means is never stale.
// nn::Sequential applies these rules to its children; the models' conv blocks call conv_bn_act themselves.
#pragma once
#include "nn/conv.h"
#include "nn/normalization.h"

namespace nabla::nn {

// The NormAct that computes `act`'s forward: Relu for a ReLU, Silu for a SiLU, None for any other module.
NormAct fusable_activation(const Module& act);

// (*act)((*bn)(x)), as one batch_norm_act inside bn's trace scope when `act` is fusable and no hook is registered.
Tensor bn_act(BatchNorm2d& bn, Module& act, const Tensor& x);
// The same for an activation written as a function: relu((*bn)(x)), silu((*bn)(x)), or (*bn)(x) for None.
Tensor bn_act(BatchNorm2d& bn, NormAct act, const Tensor& x);

// (*act)((*bn)((*conv)(x))): folded into one conv2d_act in inference (bn in eval mode with running statistics, grad
// mode off, no hook), else conv followed by bn_act.
Tensor conv_bn_act(Conv2d& conv, BatchNorm2d& bn, Module& act, const Tensor& x);
Tensor conv_bn_act(Conv2d& conv, BatchNorm2d& bn, NormAct act, const Tensor& x);

}  // namespace nabla::nn
