// models/u2net/loss.h — U²-Net's training loss, shared by `nabla train`, `nabla bench` and the tests.
#pragma once
#include <vector>

#include "core/tensor.h"

namespace nabla::models {

// The sum of BCE-with-logits of every output against the mask (the public train script's muti_bce_loss_fusion,
// written there on sigmoid outputs with nn.BCELoss; on logits it is the same number, computed stably). The outputs
// are U²-Net's seven [N, 1, H, W] maps (TinySeg's one map trains with the same loss); mask: [N, 1, H, W] in [0, 1].
Tensor u2net_loss(const std::vector<Tensor>& outputs, const Tensor& mask);

}  // namespace nabla::models
