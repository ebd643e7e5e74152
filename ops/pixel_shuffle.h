// ops/pixel_shuffle.h — torch.nn.functional.pixel_shuffle / pixel_unshuffle (nn.PixelShuffle, nn.PixelUnshuffle).
//   pixel_shuffle(x, r):   [*, C*r*r, H, W] -> [*, C, H*r, W*r]
//   pixel_unshuffle(x, r): [*, C, H*r, W*r] -> [*, C*r*r, H, W]   (the inverse)
// Both are permutations built from views, so the gradient of each is the other one.
#pragma once
#include "core/tensor.h"

namespace nabla {

Tensor pixel_shuffle(const Tensor& x, int64_t upscale_factor);
Tensor pixel_unshuffle(const Tensor& x, int64_t downscale_factor);

}  // namespace nabla
