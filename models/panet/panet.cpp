// models/panet/panet.cpp — ResBlock and PANet: construction with the reference's names, and the forward pass.
#include "models/panet/panet.h"

#include <fmt/format.h>

#include "nn/activation.h"
#include "nn/upsampling.h"
#include "ops/ops.h"

namespace nabla::models {
namespace {

nn::ModulePtr reflect_conv(int64_t in, int64_t out, int64_t k) {
    return std::make_shared<nn::Conv2d>(in, out, k, nn::Conv2dArgs{.padding = k / 2, .padding_mode = PaddingMode::Reflect});
}

}  // namespace

ResBlock::ResBlock(int64_t c) : nn::Module("ResBlock") {
    conv1 = register_module("conv1", std::make_shared<nn::Conv2d>(c, c, 1));
    bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(c));
    conv2 = register_module("conv2", std::make_shared<nn::Conv2d>(c, c, 3, nn::Conv2dArgs{.padding = 1, .padding_mode = PaddingMode::Reflect}));
    bn2 = register_module("bn2", std::make_shared<nn::BatchNorm2d>(c));
}

Tensor ResBlock::forward(const Tensor& x) {
    const Tensor h = relu((*bn1)((*conv1)(x)));
    return relu((*bn2)((*conv2)(h)) + x);
}

PANet::PANet(PANetArgs a) : nn::Module("PANet"), args(a) {
    if (a.channels < 2 || a.channels % 2 || a.blocks < 0 || a.level < 1)
        throw ValueError(fmt::format("PANet: needs an even channels >= 2, blocks >= 0 and level >= 1; got channels {}, "
                                     "blocks {}, level {}", a.channels, a.blocks, a.level));
    const int64_t c = a.channels;
    features = register_module("features", std::make_shared<nn::Sequential>(std::vector<nn::ModulePtr>{
                                               reflect_conv(3, c, 7), std::make_shared<nn::BatchNorm2d>(c),
                                               std::make_shared<nn::ReLU>(), reflect_conv(c, c, 3),
                                               std::make_shared<nn::BatchNorm2d>(c), std::make_shared<nn::ReLU>()}));
    sequential = register_module("sequential", std::make_shared<nn::Sequential>());
    for (int64_t i = 0; i < a.blocks / 2; ++i) sequential->push_back(std::make_shared<ResBlock>(c));
    attention = sequential->push_back(std::make_shared<PyramidAttention>(PyramidAttentionArgs{.level = a.level, .channel = c}));
    for (int64_t i = a.blocks / 2; i < a.blocks; ++i) sequential->push_back(std::make_shared<ResBlock>(c));
    upSample = register_module("upSample", std::make_shared<nn::Sequential>(std::vector<nn::ModulePtr>{
                                               std::make_shared<nn::Conv2d>(c, 4 * c, 3, nn::Conv2dArgs{.padding = 1}),
                                               std::make_shared<nn::PixelShuffle>(2),
                                               std::make_shared<nn::Conv2d>(c, c, 3, nn::Conv2dArgs{.padding = 1}),
                                               std::make_shared<nn::ReLU>(), std::make_shared<nn::Conv2d>(c, 3, 1),
                                               std::make_shared<nn::Tanh>()}));
}

Tensor PANet::forward(const Tensor& x) {  // x: [N, 3, h, w]
    const Tensor stem = (*features)(x);    // [N, C, h, w]
    return (*upSample)((*sequential)(stem) + stem);  // [N, 3, 2h, 2w]
}

}  // namespace nabla::models
