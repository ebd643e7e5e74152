// models/tinyseg/tinyseg.h — TinySeg: a two-level U-Net small enough to train in seconds on a CPU.
//
// The model of the demo and of the training-loop tests: the same pattern as U²-Net's stages in miniature (conv-BN-ReLU
// encoder, 2x2 max-pool with ceil_mode, bilinear upsampling to the skip's size, upsampled tensor first in the
// concat, 1x1 conv to one logit map). 12,161 parameters for RGB input at width 16.
//   x [N, 3, H, W] -> enc1 [N, 16, H, W] -> pool -> enc2 [N, 32, H/2, W/2] -> up to [N, 32, H, W]
//   -> cat with enc1 [N, 48, H, W] -> dec1 [N, 16, H, W] -> head [N, 1, H, W] (logits)
#pragma once
#include "nn/conv.h"
#include "nn/module.h"
#include "nn/normalization.h"

namespace nabla::models {

// conv 3x3 (padding 1) -> BatchNorm -> ReLU; keys conv.weight, conv.bias, bn.weight, ...
class ConvBNReLU : public nn::Module {
public:
    ConvBNReLU(int64_t in_channels, int64_t out_channels);
    Tensor forward(const Tensor& x) override;

    std::shared_ptr<nn::Conv2d> conv;
    std::shared_ptr<nn::BatchNorm2d> bn;
};

class TinySeg : public nn::Module {
public:
    explicit TinySeg(int64_t in_channels = 3, int64_t width = 16);
    Tensor forward(const Tensor& x) override;  // logits [N, 1, H, W]

    std::shared_ptr<ConvBNReLU> enc1, enc2, dec1;
    std::shared_ptr<nn::Conv2d> head;
};

}  // namespace nabla::models
