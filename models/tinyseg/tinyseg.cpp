// models/tinyseg/tinyseg.cpp — TinySeg's layers and forward.
#include "models/tinyseg/tinyseg.h"

#include "nn/fusion.h"
#include "ops/ops.h"

namespace nabla::models {

ConvBNReLU::ConvBNReLU(int64_t in_channels, int64_t out_channels) : nn::Module("ConvBNReLU") {
    conv = register_module("conv",
                           std::make_shared<nn::Conv2d>(in_channels, out_channels, 3, nn::Conv2dArgs{.padding = 1}));
    bn = register_module("bn", std::make_shared<nn::BatchNorm2d>(out_channels));
}

Tensor ConvBNReLU::forward(const Tensor& x) { return nn::conv_bn_act(*conv, *bn, NormAct::Relu, x); }

TinySeg::TinySeg(int64_t in_channels, int64_t width) : nn::Module("TinySeg") {
    enc1 = register_module("enc1", std::make_shared<ConvBNReLU>(in_channels, width));
    enc2 = register_module("enc2", std::make_shared<ConvBNReLU>(width, 2 * width));
    dec1 = register_module("dec1", std::make_shared<ConvBNReLU>(3 * width, width));
    head = register_module("head", std::make_shared<nn::Conv2d>(width, 1, 1));
}

Tensor TinySeg::forward(const Tensor& x) {                                                    // x: [N, C, H, W]
    Tensor e1 = (*enc1)(x);                                                                   // [N, w, H, W]
    Tensor e2 = (*enc2)(max_pool2d(e1, {.kernel_size = 2, .stride = 2, .ceil_mode = true}));  // [N, 2w, H/2, W/2]
    Tensor up = interpolate(e2, {.size = Int2{e1.size(2), e1.size(3)}, .mode = InterpolateMode::Bilinear});
    return (*head)((*dec1)(cat({up, e1}, 1)));  // [N, 1, H, W]
}

}  // namespace nabla::models
