// models/u2net/u2net.h — U²-Net and U²-Net† (U2NETP), the nested-U salient-object network of Qin et al. 2020
// (xuebinqin/U-2-Net, model/u2net.py), with the public model's module names, so its weights load strictly.
//
// Blocks (the math is in docs/u2net.md):
//   REBNCONV(in, out, d)  conv 3x3 (padding d, dilation d) -> BatchNorm -> ReLU; keys conv_s1.*, bn_s1.*
//   RSU<L>(in, mid, out)  a U-Net of height L inside one block: rebnconvin, rebnconv1..L (the bottom one dilated 2),
//                         rebnconv(L-1)d..1d; max-pool 2x2 with ceil_mode between levels, bilinear upsampling to the
//                         skip's exact size, the upsampled tensor first in every concat, and a residual add.
//   RSU4F(in, mid, out)   the same at one resolution with dilations 1, 2, 4, 8 instead of pooling.
// U2NET: six encoder stages (RSU7, RSU6, RSU5, RSU4, RSU4F, RSU4F), five decoder stages, six 3x3 side convs and a
// 1x1 fusion conv. forward_outputs(x [N, 3, H, W]) returns the seven logit maps d0 (fused), d1, ..., d6, each
// [N, 1, H, W] (the public model returns their sigmoids; we keep logits for BCE-with-logits). forward() returns d0.
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

// RSU7, RSU6, RSU5, RSU4 (height = 7, 6, 5, 4) — one class, named as the public model names each height.
class RSU : public nn::Module {
public:
    RSU(int64_t height, int64_t in_channels, int64_t mid_channels, int64_t out_channels);
    Tensor forward(const Tensor& x) override;

private:
    int64_t height_;
    std::shared_ptr<REBNCONV> in_;
    std::vector<std::shared_ptr<REBNCONV>> encoder_, decoder_;  // rebnconv1..height, rebnconv(height-1)d..1d
};

class RSU4F : public nn::Module {
public:
    RSU4F(int64_t in_channels, int64_t mid_channels, int64_t out_channels);
    Tensor forward(const Tensor& x) override;

private:
    std::shared_ptr<REBNCONV> in_, e1_, e2_, e3_, e4_, d3_, d2_, d1_;
};

class U2NET : public nn::Module {
public:
    // The full model (in 3, out 1); U2NETP below is the small one.
    explicit U2NET(int64_t in_channels = 3, int64_t out_channels = 1);
    struct Widths {  // per stage: in, mid, out (the table of docs/u2net.md §2)
        int64_t in, mid, out;
    };
    // Any stage widths (stage1..6, stage5d..1d), for small test models and experiments.
    U2NET(const char* type_name, int64_t in_channels, int64_t out_channels, const std::vector<Widths>& stages);

    std::vector<Tensor> forward_outputs(const Tensor& x) override;  // {d0, d1, ..., d6} logits
    Tensor forward(const Tensor& x) override { return forward_outputs(x)[0]; }

private:
    std::vector<nn::ModulePtr> encoder_, decoder_;  // stage1..6, stage5d..1d
    std::vector<std::shared_ptr<nn::Conv2d>> side_;  // side1..6
    std::shared_ptr<nn::Conv2d> outconv_;
};

class U2NETP : public U2NET {
public:
    explicit U2NETP(int64_t in_channels = 3, int64_t out_channels = 1);
};

}  // namespace nabla::models
