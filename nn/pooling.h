// nn/pooling.h — torch.nn.MaxPool2d, AvgPool2d and AdaptiveAvgPool2d over ops/pool.h (output sizes, ceil_mode and
// count_include_pad exactly as PyTorch; the rules are in ops/pool.cpp).
//   nn::MaxPool2d pool(2, {.ceil_mode = true});          // U^2-Net's downsampling
//   nn::MaxPool2d sppf(5, {.stride = 1, .padding = 2});    // YOLOv5's SPPF
//   nn::AdaptiveAvgPool2d gap(1);                          // [N, C, H, W] -> [N, C, 1, 1]
// Inputs [N, C, H, W] or [C, H, W]. A stride of 0 (the default) means stride = kernel_size (torch's stride=None).
// The print format is torch's for sizes given as one number or as a pair of different numbers (an Int2 does not
// remember whether 2 was written 2 or (2, 2)). macs(): 0 (comparisons and additions, no multiply-accumulates).
#pragma once
#include "nn/module.h"
#include "ops/options.h"

namespace nabla::nn {

struct MaxPool2dArgs {
    Int2 stride = 0;  // 0 = kernel_size
    Int2 padding = 0;
    Int2 dilation = 1;
    bool ceil_mode = false;
};

class MaxPool2d : public Module {
public:
    // A ValueError naming MaxPool2d for a non-positive kernel or dilation, a negative stride, or a padding above
    // half the kernel.
    explicit MaxPool2d(Int2 kernel_size, MaxPool2dArgs args = {});
    Tensor forward(const Tensor& x) override;
    std::string extra_repr() const override;

    const MaxPool2dOptions options;  // stride resolved
};

struct AvgPool2dArgs {
    Int2 stride = 0;  // 0 = kernel_size
    Int2 padding = 0;
    bool ceil_mode = false;
    bool count_include_pad = true;
};

class AvgPool2d : public Module {
public:
    explicit AvgPool2d(Int2 kernel_size, AvgPool2dArgs args = {});  // ValueErrors as MaxPool2d
    Tensor forward(const Tensor& x) override;
    std::string extra_repr() const override;

    const AvgPool2dOptions options;  // stride resolved
};

class AdaptiveAvgPool2d : public Module {
public:
    explicit AdaptiveAvgPool2d(Int2 output_size);  // a ValueError for a negative size
    Tensor forward(const Tensor& x) override;      // [N, C, H, W] -> [N, C, out_h, out_w]
    std::string extra_repr() const override;

    const Int2 output_size;
};

}  // namespace nabla::nn
