// models/panet/loss.cpp — PANet's L1 loss.
#include "models/panet/loss.h"

#include "ops/ops.h"

namespace nabla::models {

Tensor panet_loss(const Tensor& sr, const Tensor& hr) { return l1_loss(sr, hr); }

}  // namespace nabla::models
