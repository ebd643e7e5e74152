// nn/optim/clip_grad.h — gradient clipping (torch.nn.utils.clip_grad_norm_ and clip_grad_value_, torch 1.13).
//   clip_grad_norm_: total = the p-norm of all gradients as one vector (the norm of the per-tensor norms; for
//     p = inf the largest |g|); every gradient is multiplied by min(1, max_norm / (total + 1e-6)). Returns total as
//     a 0-dim tensor of the gradients' dtype (float32 0 when no parameter has a gradient).
//   clip_grad_value_: every gradient element clamped to [-clip_value, clip_value].
// Parameters without a gradient are skipped. Gradients are changed in place.
#pragma once
#include <vector>

#include "core/tensor.h"

namespace nabla::optim {

// With error_if_nonfinite, a NaN or infinite total norm is an Error (and no gradient is changed).
Tensor clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);
void clip_grad_value_(const std::vector<Tensor>& parameters, double clip_value);

}  // namespace nabla::optim
