// models/u2net/u2net.h — U²-Net and U²-Net† (U2NETP), the nested-U salient-object network of Qin et al. 2020
// (xuebinqin/U-2-Net, model/u2net.py), with the public model's module names as public members, so its weights load
// strictly and the forward passes read as the public model's.
//
// Blocks (the math is in docs/u2net.md):
//   REBNCONV(in, out, d)  conv 3x3 (padding d, dilation d) -> BatchNorm -> ReLU; keys conv_s1.*, bn_s1.*
//   RSU(L, in, mid, out)  RSU7, RSU6, RSU5, RSU4: a U-Net of height L inside one block: rebnconvin, rebnconv1..L (the
//                         bottom one dilated 2), rebnconv(L-1)d..1d; max-pool 2x2 with ceil_mode between levels,
//                         bilinear upsampling to the skip's exact size, the upsampled tensor first in every concat, and
//                         a residual add.
//   RSU4F(in, mid, out)   the same at one resolution with dilations 1, 2, 4, 8 instead of pooling.
// U2NET: six encoder stages stage1..stage6 (RSU7, RSU6, RSU5, RSU4, RSU4F, RSU4F), five decoder stages
// stage5d..stage1d (RSU4F, RSU4, RSU5, RSU6, RSU7), six 3x3 side convs side1..side6 and a 1x1 fusion conv outconv.
// forward_outputs(x [N, 3, H, W]) returns the seven logit maps d0 (fused), d1, ..., d6, each [N, 1, H, W] (the
// public model returns their sigmoids; we keep logits for BCE-with-logits). forward() returns d0.
// Parameters: 44,009,869 (U2NET), 1,131,181 (U2NETP).
#pragma once
#include "nn/conv.h"
#include "nn/module.h"
#include "nn/normalization.h"

namespace nabla::models {

class REBNCONV : public nn::Module {
public:
    REBNCONV(int64_t in_channels, int64_t out_channels, int64_t dilation = 1);
    Tensor forward(const Tensor& x) override;

    std::shared_ptr<nn::Conv2d> conv_s1;
    std::shared_ptr<nn::BatchNorm2d> bn_s1;
};

// RSU7, RSU6, RSU5, RSU4 (height L = 7, 6, 5, 4) in one class; the public model writes one class per height, with
// the same module names. The names carry the level number, so they are kept in two vectors indexed by it:
//   rebnconv[k - 1]   is rebnconv<k>,  k = 1 .. L      (rebnconv<L>, the bottom, has dilation 2)
//   rebnconvd[k - 1]  is rebnconv<k>d, k = 1 .. L - 1
class RSU : public nn::Module {
public:
    RSU(int64_t height, int64_t in_channels, int64_t mid_channels, int64_t out_channels);
    Tensor forward(const Tensor& x) override;

    std::shared_ptr<REBNCONV> rebnconvin;
    std::vector<std::shared_ptr<REBNCONV>> rebnconv, rebnconvd;
};

class RSU4F : public nn::Module {
public:
    RSU4F(int64_t in_channels, int64_t mid_channels, int64_t out_channels);
    Tensor forward(const Tensor& x) override;

    std::shared_ptr<REBNCONV> rebnconvin, rebnconv1, rebnconv2, rebnconv3, rebnconv4;  // dilations 1, 1, 2, 4, 8
    std::shared_ptr<REBNCONV> rebnconv3d, rebnconv2d, rebnconv1d;                      // dilations 4, 2, 1
};

class U2NET : public nn::Module {
public:
    // The full model (in 3, out 1); U2NETP below is the small one.
    explicit U2NET(int64_t in_channels = 3, int64_t out_channels = 1);
    struct Widths {  // per stage: in, mid, out (the table of docs/u2net.md §2)
        int64_t in, mid, out;
    };
    // Any stage widths, 11 of them in the order stage1..6, stage5d..1d, for small test models and experiments.
    U2NET(const char* type_name, int64_t in_channels, int64_t out_channels, const std::vector<Widths>& stages);

    std::vector<Tensor> forward_outputs(const Tensor& x) override;  // {d0, d1, ..., d6} logits
    Tensor forward(const Tensor& x) override { return forward_outputs(x)[0]; }

    // Encoder stage1..6: RSU7, RSU6, RSU5, RSU4, RSU4F, RSU4F; decoder stage5d..1d: RSU4F, RSU4, RSU5, RSU6, RSU7.
    std::shared_ptr<RSU> stage1, stage2, stage3, stage4;
    std::shared_ptr<RSU4F> stage5, stage6, stage5d;
    std::shared_ptr<RSU> stage4d, stage3d, stage2d, stage1d;
    // side<k>: 3x3 conv of stage<k>d's output (side6: of stage6's) to out channels; outconv: 1x1 fusion of d1..d6.
    std::shared_ptr<nn::Conv2d> side1, side2, side3, side4, side5, side6, outconv;
};

class U2NETP : public U2NET {
public:
    explicit U2NETP(int64_t in_channels = 3, int64_t out_channels = 1);
};

}  // namespace nabla::models
