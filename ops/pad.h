// ops/pad.h — torch.nn.functional.pad with modes constant, reflect and replicate.
// `pads` lists (before, after) pairs starting from the LAST dim, as PyTorch: (left, right, top, bottom) for NCHW.
//   x: [..., n] -> [..., before + n + after] per padded dim; a negative pad crops. Rules and backward in ops/pad.cpp.
#pragma once
#include "core/tensor.h"
#include "ops/options.h"

namespace nabla {

Tensor pad(const Tensor& x, const Shape& pads, PadMode mode = PadMode::Constant, double value = 0.0);

}  // namespace nabla
