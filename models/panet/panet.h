// models/panet/panet.h — PANet, the SRResNet-like ×2 super-resolution network of the reference blog post around
// PyramidAttention (pyramid_attention.h): input in [−1, 1] at low resolution, output in [−1, 1] at twice the size.
// The network is the reference's, module for module (docs/panet.md §3):
//
//   features    0 conv 7x7 (reflect, no bias) 1 BN 2 ReLU 3 conv 3x3 (reflect, no bias) 4 BN 5 ReLU  [N, C, h, w]
//   sequential  blocks/2 ResBlocks, the PyramidAttention (at index blocks/2), blocks − blocks/2 ResBlocks
//   upSample    0 conv 3x3 C→4C (reflect) 1 PixelShuffle(2) 2 conv 3x3 (zeros) 3 ReLU 4 conv 1x1 C→3
//               5 Tanh                                                                              [N, 3, 2h, 2w]
//   forward     upSample(features(x) + sequential(features(x)))
// ResBlock: relu(x + model(x)) with model = 0 conv 1x1 (no bias) 1 BN 2 ReLU 3 conv 3x3 (reflect, no bias) 4 BN.
// State-dict keys: features.0.weight, features.1.running_mean, sequential.0.model.3.weight,
// sequential.12.conv_match.0.weight (the default's attention), upSample.0.bias, ...: the default PANet has the
// reference's 316 keys and 1,228,870 parameters, so its weights load strictly.
// Defaults: channels 64, blocks 24, level 4: the blog's network. Two switches make the SR papers' network of the
// same modules (docs/panet.md §4):
//   skip=bicubic  forward returns bicubic_x2(x) + upSample(...): the body learns the residual over bicubic, and
//                 upSample's last conv starts at zero, so the untrained network is bicubic upscaling exactly;
//   norm=none     no BatchNorm in features and the ResBlocks (an Identity holds each BatchNorm's index, so the other
//                 keys do not move) and their convs get biases, as EDSR removed them.
#pragma once
#include "models/panet/pyramid_attention.h"
#include "nn/container.h"
#include "nn/conv.h"
#include "nn/normalization.h"

namespace nabla::models {

class ResBlock : public nn::Module {
public:
    explicit ResBlock(int64_t channels, bool batch_norm = true);
    Tensor forward(const Tensor& x) override;  // relu(x + model(x))

    std::shared_ptr<nn::Sequential> model;
};

struct PANetArgs {
    int64_t channels = 64, blocks = 24, level = 4;
    bool bicubic_skip = false;  // skip=bicubic: learn the residual over bicubic upscaling
    bool batch_norm = true;     // norm=none: no BatchNorm in features and the ResBlocks
};

class PANet : public nn::Module {
public:
    explicit PANet(PANetArgs args = {});
    // [N, 3, h, w] in [−1, 1] → [N, 3, 2h, 2w] in [−1, 1] (with skip=bicubic, bicubic plus a residual in [−1, 1])
    Tensor forward(const Tensor& x) override;

    const PANetArgs args;
    std::shared_ptr<nn::Sequential> features, sequential, upSample;
    std::shared_ptr<PyramidAttention> attention;  // sequential[blocks / 2]
};

}  // namespace nabla::models
