// nn/conv.h — the convolution layers torch.nn.Conv2d and torch.nn.ConvTranspose2d.
//   nn::Conv2d conv(3, 64, 3, {.padding = 1, .bias = false});            // x [N, 3, H, W] -> [N, 64, H, W]
//   nn::ConvTranspose2d up(64, 32, 2, {.stride = 2});                      // [N, 64, H, W] -> [N, 32, 2H, 2W]
// Parameters and state-dict keys as torch: `weight` ([out, in/groups, kh, kw] for Conv2d, [in, out/groups, kh, kw]
// for ConvTranspose2d) and `bias` ([out]; undefined and absent from the state dict when bias=false).
// Default init as torch's reset_parameters: weight kaiming_uniform_(a=sqrt(5)), i.e. U(±1/sqrt(fan_in)), and bias
// U(±1/sqrt(fan_in)), from the global generator. The math and the shape rules are in ops/conv.h; padding_mode
// Reflect is F.pad(x, reflect) then a conv with padding 0, as torch (done by ops/conv.cpp).
// macs(): Conv2d output numel * in/groups * kh * kw; ConvTranspose2d input numel * out/groups * kh * kw (each input
// element meets kh * kw * out/groups weights); the bias is not counted.
#pragma once
#include "nn/module.h"
#include "ops/options.h"

namespace nabla::nn {

struct Conv2dArgs {
    Int2 stride = 1;
    Int2 padding = 0;
    Int2 dilation = 1;
    int64_t groups = 1;
    bool bias = true;
    PaddingMode padding_mode = PaddingMode::Zeros;
};

class Conv2d : public Module {
public:
    // A ValueError naming Conv2d for channels not divisible by groups or a non-positive size.
    Conv2d(int64_t in_channels, int64_t out_channels, Int2 kernel_size, Conv2dArgs args = {});
    Tensor forward(const Tensor& x) override;  // [N, in, H, W] -> [N, out, H_out, W_out]
    Conv2dOptions op_options() const;          // what forward passes to ops/conv.h conv2d
    void reset_parameters();
    int64_t macs(const Shape& input, const Shape& output) const override;
    std::string extra_repr() const override;
    // After pruning narrowed the weight: out_channels from its dim 0, in_channels from its dim 1; a depthwise conv
    // (groups = in = out) stays depthwise with groups = the new width.
    void sync_widths() override;

    int64_t in_channels, out_channels;  // set at construction; only pruning changes them (sync_widths)
    const Int2 kernel_size;
    Conv2dArgs options;
    Tensor weight, bias;
};

struct ConvTranspose2dArgs {  // torch's argument order
    Int2 stride = 1;
    Int2 padding = 0;
    Int2 output_padding = 0;
    int64_t groups = 1;
    bool bias = true;
    Int2 dilation = 1;
};

class ConvTranspose2d : public Module {
public:
    // A ValueError naming ConvTranspose2d for channels not divisible by groups, a non-positive size, or an
    // output_padding not smaller than stride or dilation.
    ConvTranspose2d(int64_t in_channels, int64_t out_channels, Int2 kernel_size, ConvTranspose2dArgs args = {});
    Tensor forward(const Tensor& x) override;  // [N, in, H, W] -> [N, out, H_out, W_out]
    void reset_parameters();
    int64_t macs(const Shape& input, const Shape& output) const override;
    std::string extra_repr() const override;

    const int64_t in_channels, out_channels;
    const Int2 kernel_size;
    const ConvTranspose2dArgs options;
    Tensor weight, bias;
};

}  // namespace nabla::nn
