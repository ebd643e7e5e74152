// models/panet/panet.h — PANet, the SRResNet-like ×2 super-resolution network of the reference blog post around
// PyramidAttention (pyramid_attention.h): input in [−1, 1] at low resolution, output in [−1, 1] at twice the size.
//
//   features    conv 7x7 (reflect) → BN → ReLU → conv 3x3 (reflect) → BN → ReLU                 [N, C, h, w]
//   sequential  blocks/2 ResBlocks, the PyramidAttention, blocks − blocks/2 ResBlocks; plus the stem (a skip)
//   upSample    conv 3x3 C→4C → PixelShuffle(2) → conv 3x3 → ReLU → conv 1x1 C→3 → Tanh           [N, 3, 2h, 2w]
// ResBlock: conv 1x1 → BN → ReLU → conv 3x3 (reflect) → BN, + the input, → ReLU.
// State-dict keys: features.0.weight, sequential.12.conv_match.0.weight (the attention sits at index blocks/2),
// upSample.0.weight, sequential.<i>.conv1/bn1/conv2/bn2.* for the ResBlocks. The first three are the reference's;
// the ResBlocks' inner names are our reading of it and may need a rename map when converting its weights.
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
    Tensor forward(const Tensor& x) override;

    std::shared_ptr<nn::Conv2d> conv1, conv2;
    std::shared_ptr<nn::BatchNorm2d> bn1, bn2;
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
