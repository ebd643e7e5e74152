// models/panet/loss.h — PANet's training loss, shared by `nabla train`, `nabla bench` and the tests.
#pragma once
#include "core/tensor.h"

namespace nabla::models {

// The reference blog's loss: the mean absolute error between the x2 output and the high-resolution target (both
// [N, 3, 2H, 2W] in [-1, 1]), nn.L1Loss().
Tensor panet_loss(const Tensor& sr, const Tensor& hr);

}  // namespace nabla::models
