// ops/interpolate.h — torch.nn.functional.interpolate on 4-D NCHW tensors: modes nearest, bilinear, bicubic.
//   interpolate(x, {.size = Int2{h, w}, .mode = InterpolateMode::Bilinear})              // U^2-Net: to a skip's size
//   interpolate(x, {.scale_factor = {{0.7, 0.7}}, .mode = InterpolateMode::Bicubic, .align_corners = true})  // PANet
// x: [N, C, H, W] -> [N, C, out_h, out_w]. Options and defaults are PyTorch's (ops/options.h: InterpolateOptions).
#pragma once
#include "core/tensor.h"
#include "ops/options.h"

namespace nabla {

Tensor interpolate(const Tensor& x, const InterpolateOptions& o);

// The output size and source-coordinate ratios interpolate() hands to the kernels (PyTorch's rules, u2net_panet.md
// §3.1): out = size, or floor(in * scale_factor) in double; the ratio is (in-1)/(out-1) with align_corners (0 when
// out = 1), else 1/scale_factor when a scale is given and not recomputed, else in/out. Validates the options.
UpsampleParams upsample_params(const Shape& x_shape, const InterpolateOptions& o);

}  // namespace nabla
