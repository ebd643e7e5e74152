// models/panet/panet.cpp — ResBlock and PANet: construction with the reference's modules and names, and the forward.
#include "models/panet/panet.h"

#include <fmt/format.h>

#include "autograd/grad_mode.h"
#include "nn/activation.h"
#include "nn/linear.h"
#include "nn/upsampling.h"
#include "ops/ops.h"

namespace nabla::models {
namespace {

// A k x k convolution padded by k / 2 (torch's padding=k//2 with padding_mode, as the reference writes it).
nn::ModulePtr conv(int64_t in, int64_t out, int64_t k, bool bias, PaddingMode mode) {
    return std::make_shared<nn::Conv2d>(in, out, k,
                                        nn::Conv2dArgs{.padding = k / 2, .bias = bias, .padding_mode = mode});
}

// A BatchNorm, or an Identity in its place (norm=none) so that the indices of the layers after it stay the same.
nn::ModulePtr bn(int64_t c, bool batch_norm) {
    if (!batch_norm) return std::make_shared<nn::Identity>();
    return std::make_shared<nn::BatchNorm2d>(c);
}
nn::ModulePtr relu_layer() { return std::make_shared<nn::ReLU>(); }

}  // namespace

ResBlock::ResBlock(int64_t c, bool batch_norm) : nn::Module("ResBlock") {
    const bool bias = !batch_norm;  // a conv in front of a BatchNorm needs none
    model = register_module("model", std::make_shared<nn::Sequential>(std::vector<nn::ModulePtr>{
                                         conv(c, c, 1, bias, PaddingMode::Zeros), bn(c, batch_norm), relu_layer(),
                                         conv(c, c, 3, bias, PaddingMode::Reflect), bn(c, batch_norm)}));
}

Tensor ResBlock::forward(const Tensor& x) { return relu(x + (*model)(x)); }

PANet::PANet(PANetArgs a) : nn::Module("PANet"), args(a) {
    if (a.channels < 2 || a.channels % 2 || a.blocks < 0 || a.level < 1)
        throw ValueError(
            fmt::format("PANet: needs an even channels >= 2, blocks >= 0 and level >= 1; got channels {}, "
                        "blocks {}, level {}",
                        a.channels, a.blocks, a.level));
    const int64_t c = a.channels;
    const bool bn_on = a.batch_norm, bias = !a.batch_norm;
    features = register_module("features", std::make_shared<nn::Sequential>(std::vector<nn::ModulePtr>{
                                               conv(3, c, 7, bias, PaddingMode::Reflect), bn(c, bn_on), relu_layer(),
                                               conv(c, c, 3, bias, PaddingMode::Reflect), bn(c, bn_on), relu_layer()}));
    sequential = register_module("sequential", std::make_shared<nn::Sequential>());
    for (int64_t i = 0; i < a.blocks / 2; ++i) sequential->push_back(std::make_shared<ResBlock>(c, bn_on));
    attention =
        sequential->push_back(std::make_shared<PyramidAttention>(PyramidAttentionArgs{.level = a.level, .channel = c}));
    for (int64_t i = a.blocks / 2; i < a.blocks; ++i) sequential->push_back(std::make_shared<ResBlock>(c, bn_on));
    upSample = register_module(
        "upSample", std::make_shared<nn::Sequential>(std::vector<nn::ModulePtr>{
                        conv(c, 4 * c, 3, true, PaddingMode::Reflect), std::make_shared<nn::PixelShuffle>(2),
                        conv(c, c, 3, true, PaddingMode::Zeros), relu_layer(), conv(c, 3, 1, true, PaddingMode::Zeros),
                        std::make_shared<nn::Tanh>()}));
    if (a.bicubic_skip) {  // the residual starts at zero: the untrained network is bicubic upscaling
        const auto last = upSample->at<nn::Conv2d>(4);
        NoGradGuard no_grad;
        last->weight.zero_();
        last->bias.zero_();
    }
}

Tensor PANet::forward(const Tensor& x) {  // x: [N, 3, h, w]
    // The reference computes features(x) twice. Both give the same [N, C, h, w]; in training each call also
    // updates features' BatchNorm running statistics, so the two calls are kept there to train the reference's
    // statistics exactly. In eval mode one call is the same function.
    const Tensor stem = (*features)(x);
    const Tensor body_in = is_training() ? (*features)(x) : stem;
    const Tensor y = (*upSample)(stem + (*sequential)(body_in));  // [N, 3, 2h, 2w]
    if (!args.bicubic_skip) return y;
    const Tensor up = interpolate(x, {.size = Int2{2 * x.size(-2), 2 * x.size(-1)}, .mode = InterpolateMode::Bicubic});
    return up + y;
}

}  // namespace nabla::models
