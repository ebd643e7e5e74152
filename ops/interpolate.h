// ops/interpolate.h — torch.nn.functional.interpolate on 4-D NCHW tensors: modes nearest, bilinear, bicubic.
//   interpolate(x, {.size = Int2{h, w}, .mode = InterpolateMode::Bilinear})              // U^2-Net: to a skip's size
//   interpolate(x, {.scale_factor = {{0.7, 0.7}}, .mode = InterpolateMode::Bicubic, .align_corners = true})  // PANet
// x: [N, C, H, W] -> [N, C, out_h, out_w]. Options and defaults are PyTorch's (ops/options.h: InterpolateOptions);
// the rules for the output size and the source coordinates are in ops/interpolate.cpp.
#pragma once
#include "core/tensor.h"
#include "ops/options.h"

namespace nabla {

Tensor interpolate(const Tensor& x, const InterpolateOptions& options);

// What interpolate(x, options) would compute for an input of x_shape, without computing it: the output size and the
// source-coordinate ratios (an error for options PyTorch refuses). Callers that size buffers ahead use it.
UpsampleParams upsample_params(const Shape& x_shape, const InterpolateOptions& options);

}  // namespace nabla
