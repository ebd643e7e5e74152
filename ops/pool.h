// ops/pool.h — 2-D pooling (torch.nn.functional.max_pool2d, max_pool2d(return_indices=True), avg_pool2d,
// adaptive_avg_pool2d). x is [N, C, H, W] or [C, H, W] (treated as a batch of one, as PyTorch does).
//   y = max_pool2d(x, {.kernel_size = 2, .stride = 2, .ceil_mode = true});      // U^2-Net's downsampling
//   y = max_pool2d(x, {.kernel_size = 5, .stride = 1, .padding = 2});          // YOLOv5's SPPF
// Output size, ceil_mode and count_include_pad follow PyTorch exactly (docs/ops_semantics.md §7; rules in
// ops/pool.cpp).
#pragma once
#include "core/tensor.h"
#include "ops/options.h"

namespace nabla {

Tensor max_pool2d(const Tensor& x, const MaxPool2dOptions& options);
// values as max_pool2d; indices int64, flat h*W+w within each [H, W] plane (PyTorch's return_indices=True).
ValuesIndices max_pool2d_with_indices(const Tensor& x, const MaxPool2dOptions& options);
Tensor avg_pool2d(const Tensor& x, const AvgPool2dOptions& options);
// Window i along an axis covers [floor(i*in/out), ceil((i+1)*in/out)).
Tensor adaptive_avg_pool2d(const Tensor& x, Int2 output_size);

// PyTorch's pooling_output_shape: floor (or ceil) of (in + 2p - d(k-1) - 1)/s + 1, with the ceil_mode rule that the
// last window must start inside the input or the left padding.
int64_t pool_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation, bool ceil_mode);

}  // namespace nabla
