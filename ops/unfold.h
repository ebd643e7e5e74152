// ops/unfold.h — torch.nn.functional.unfold (nn.Unfold, im2col) and torch.nn.functional.fold (nn.Fold, col2im).
//   unfold(x, {.kernel_size = 3, .padding = 1})            x: [N, C, H, W] -> [N, C*kh*kw, L]
//   fold(cols, {H, W}, {.kernel_size = 3, .padding = 1})   cols: [N, C*kh*kw, L] -> [N, C, H, W], overlaps summed
// Row c*kh*kw + a*kw + b of the columns holds kernel tap (a, b) of channel c; column l = oy*out_w + ox is one block.
#pragma once
#include "core/tensor.h"
#include "ops/options.h"

namespace nabla {

Tensor unfold(const Tensor& x, const UnfoldOptions& options);
Tensor fold(const Tensor& cols, Int2 output_size, const UnfoldOptions& options);

}  // namespace nabla
