// models/u2net/loss.cpp — U²-Net's fused BCE loss over its side outputs.
#include "models/u2net/loss.h"

#include "core/error.h"
#include "ops/ops.h"

namespace nabla::models {

Tensor u2net_loss(const std::vector<Tensor>& outputs, const Tensor& mask) {
    NB_CHECK_VALUE(!outputs.empty(), "u2net_loss: no outputs");
    Tensor total = binary_cross_entropy_with_logits(outputs[0], mask);
    for (size_t k = 1; k < outputs.size(); ++k) total = total + binary_cross_entropy_with_logits(outputs[k], mask);
    return total;
}

}  // namespace nabla::models
