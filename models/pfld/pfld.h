// models/pfld/pfld.h — PFLD, the practical facial landmark detector of Guo et al. 2019 (98 points, 112x112 crops), as
// the public PyTorch implementation builds it (polarisZhao/PFLD-pytorch), module for module, so its state dicts load
// strictly. The network table, the key names and the loss are in docs/pfld.md.
//
//   InvertedResidual  MobileNetV2 block; conv = 0 conv 1x1 (no bias) 1 BN 2 ReLU 3 depthwise 3x3 (no bias) 4 BN
//                     5 ReLU 6 conv 1x1 (no bias) 7 BN; x + conv(x) when use_res_connect (given, not derived)
//   PFLDInference     the backbone: conv1/bn1, conv2/bn2, conv3_1, block3_2..block3_5 (-> out1 [N, 64, 28, 28]),
//                     conv4_1, conv5_1, block5_2..block5_6, conv6_1, then three scales S1 = avg_pool1(conv6_1 out)
//                     [16], S2 = avg_pool2(conv7 out) [32], S3 = relu(conv8(conv7 out)) [128] concatenated into
//                     fc -> landmarks [N, 196] (x0, y0, x1, y1, ..., normalised to the crop). bn8 is declared but,
//                     as in the reference, never used in forward (it has no gradient after backward).
//   AuxiliaryNet      the training-time pose head on out1: conv1..conv4 (conv-BN-ReLU; conv4 7x7 padding 1 -> 3x3),
//                     max_pool1 (3x3) -> fc1 (no activation) -> fc2 -> angles [N, 3] (pitch, yaw, roll).
//   PFLD              children `backbone` and `auxiliarynet`; forward_outputs returns {features, landmarks, angles}.
// Defaults give the reference exactly: backbone 1,264,804 parameters (bn8's 256 included), 261 state-dict entries;
// auxiliary net 463,811 parameters, 28 entries. The input must be [N, 3, 112, 112] (AvgPool2d(14) and AvgPool2d(7)
// are fixed for that size); any other shape is an error naming the model and the shape.
#pragma once
#include "nn/activation.h"
#include "nn/container.h"
#include "nn/conv.h"
#include "nn/linear.h"
#include "nn/normalization.h"
#include "nn/pooling.h"

namespace nabla::models {

// The channel multiplier of the paper's "0.25X" variant: every width of both nets (64, 128, 16, 32 and conv8's 128 in
// the backbone; 128, 128, 32, 128 and fc1's 32 in the auxiliary net) becomes max(1, round(c * width)), halves rounded
// up; the 196 landmark and 3 angle outputs do not change. width 1 is the reference.
struct PFLDArgs {
    double width = 1.0;
};
int64_t pfld_channels(int64_t channels, double width);  // max(1, floor(channels * width + 0.5))

class InvertedResidual : public nn::Module {
public:
    // Hidden width inp * expand_ratio; the depthwise 3x3 has the stride.
    InvertedResidual(int64_t inp, int64_t oup, int64_t stride, bool use_res_connect, int64_t expand_ratio);
    Tensor forward(const Tensor& x) override;  // x + conv(x) if use_res_connect, else conv(x)

    const bool use_res_connect;
    std::shared_ptr<nn::Sequential> conv;
};

class PFLDInference : public nn::Module {
public:
    explicit PFLDInference(PFLDArgs args = {});
    std::vector<Tensor> forward_outputs(const Tensor& x) override;  // {out1 [N, 64, 28, 28], landmarks [N, 196]}
    Tensor forward(const Tensor& x) override { return forward_outputs(x)[1]; }  // landmarks

    const PFLDArgs args;
    std::shared_ptr<nn::Conv2d> conv1, conv2, conv8;  // conv1, conv2 without bias; conv8 7x7 with bias
    std::shared_ptr<nn::BatchNorm2d> bn1, bn2, bn8;   // bn8: unused in forward, as the reference
    std::shared_ptr<nn::ReLU> relu;
    std::shared_ptr<InvertedResidual> conv3_1, block3_2, block3_3, block3_4, block3_5;
    std::shared_ptr<InvertedResidual> conv4_1, conv5_1, block5_2, block5_3, block5_4, block5_5, block5_6, conv6_1;
    std::shared_ptr<nn::Sequential> conv7;                // 0 conv 3x3 stride 2 (no bias) 1 BN 2 ReLU
    std::shared_ptr<nn::AvgPool2d> avg_pool1, avg_pool2;  // 14x14 and 7x7
    std::shared_ptr<nn::Linear> fc;                       // 176 -> 196
};

class AuxiliaryNet : public nn::Module {
public:
    explicit AuxiliaryNet(PFLDArgs args = {});
    Tensor forward(const Tensor& out1) override;  // [N, 64, 28, 28] -> angles [N, 3]

    const PFLDArgs args;
    std::shared_ptr<nn::Sequential> conv1, conv2, conv3, conv4;  // each 0 conv (no bias) 1 BN 2 ReLU
    std::shared_ptr<nn::MaxPool2d> max_pool1;
    std::shared_ptr<nn::Linear> fc1, fc2;  // 128 -> 32 (no activation after it), 32 -> 3
};

class PFLD : public nn::Module {
public:
    explicit PFLD(PFLDArgs args = {});
    // {features = out1 [N, 64, 28, 28], landmarks [N, 196], angles [N, 3]}
    std::vector<Tensor> forward_outputs(const Tensor& x) override;
    Tensor forward(const Tensor& x) override;  // landmarks only (the backbone alone), as the reference's inference

    const PFLDArgs args;
    std::shared_ptr<PFLDInference> backbone;  // keys backbone.<reference key>
    std::shared_ptr<AuxiliaryNet> auxiliarynet;
};

}  // namespace nabla::models
