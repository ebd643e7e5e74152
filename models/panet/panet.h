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
// Defaults: channels 64, blocks 24, level 4.
#pragma once
#include "models/panet/pyramid_attention.h"
#include "nn/container.h"
#include "nn/conv.h"
#include "nn/normalization.h"

namespace nabla::models {

class ResBlock : public nn::Module {
public:
    explicit ResBlock(int64_t channels);
    Tensor forward(const Tensor& x) override;  // relu(x + model(x))

    std::shared_ptr<nn::Sequential> model;
};

struct PANetArgs {
    int64_t channels = 64, blocks = 24, level = 4;
};

class PANet : public nn::Module {
public:
    explicit PANet(PANetArgs args = {});
    Tensor forward(const Tensor& x) override;  // [N, 3, h, w] in [−1, 1] → [N, 3, 2h, 2w] in [−1, 1]

    const PANetArgs args;
    std::shared_ptr<nn::Sequential> features, sequential, upSample;
    std::shared_ptr<PyramidAttention> attention;  // sequential[blocks / 2]
};

}  // namespace nabla::models
