// models/u2net/u2net.cpp — REBNCONV, RSU, RSU4F and U2NET/U2NETP: construction with the public model's names, and
// the forward passes of docs/u2net.md §1–§3.
#include "models/u2net/u2net.h"

#include <fmt/format.h>

#include "ops/ops.h"

namespace nabla::models {
namespace {

Tensor pool(const Tensor& x) { return max_pool2d(x, {.kernel_size = 2, .stride = 2, .ceil_mode = true}); }

// Bilinear resize of x to like's height and width (align_corners false): the public model's _upsample_like.
Tensor upsample_like(const Tensor& x, const Tensor& like) {
    if (x.size(2) == like.size(2) && x.size(3) == like.size(3)) return x;
    return interpolate(x, {.size = Int2{like.size(2), like.size(3)}, .mode = InterpolateMode::Bilinear});
}

}  // namespace

REBNCONV::REBNCONV(int64_t in_channels, int64_t out_channels, int64_t dilation) : nn::Module("REBNCONV") {
    conv_s1 = register_module("conv_s1", std::make_shared<nn::Conv2d>(in_channels, out_channels, 3,
                                                                      nn::Conv2dArgs{.padding = dilation, .dilation = dilation}));
    bn_s1 = register_module("bn_s1", std::make_shared<nn::BatchNorm2d>(out_channels));
}

Tensor REBNCONV::forward(const Tensor& x) { return relu((*bn_s1)((*conv_s1)(x))); }

RSU::RSU(int64_t height, int64_t in_channels, int64_t mid, int64_t out)
    : nn::Module(fmt::format("RSU{}", height)), height_(height) {
    if (height < 3) throw ValueError(fmt::format("RSU: height must be at least 3, got {}", height));
    in_ = register_module("rebnconvin", std::make_shared<REBNCONV>(in_channels, out, 1));
    for (int64_t k = 1; k <= height; ++k) {
        const int64_t cin = k == 1 ? out : mid;
        const int64_t dilation = k == height ? 2 : 1;
        encoder_.push_back(register_module(fmt::format("rebnconv{}", k), std::make_shared<REBNCONV>(cin, mid, dilation)));
    }
    for (int64_t k = height - 1; k >= 1; --k)
        decoder_.push_back(register_module(fmt::format("rebnconv{}d", k),
                                           std::make_shared<REBNCONV>(2 * mid, k == 1 ? out : mid, 1)));
}

Tensor RSU::forward(const Tensor& x) {
    const Tensor xin = (*in_)(x);                    // [N, out, H, W]
    std::vector<Tensor> skips{(*encoder_[0])(xin)};  // e1 [N, mid, H, W]
    for (int64_t k = 2; k < height_; ++k) skips.push_back((*encoder_[static_cast<size_t>(k - 1)])(pool(skips.back())));
    Tensor d = (*encoder_.back())(skips.back());     // the bottom, dilation 2, same size as e_{L-1}
    for (size_t i = 0; i < decoder_.size(); ++i) {   // d_{L-1} .. d_1
        const Tensor& skip = skips[skips.size() - 1 - i];
        d = (*decoder_[i])(cat({upsample_like(d, skip), skip}, 1));
    }
    return d + xin;
}

RSU4F::RSU4F(int64_t in_channels, int64_t mid, int64_t out) : nn::Module("RSU4F") {
    in_ = register_module("rebnconvin", std::make_shared<REBNCONV>(in_channels, out, 1));
    e1_ = register_module("rebnconv1", std::make_shared<REBNCONV>(out, mid, 1));
    e2_ = register_module("rebnconv2", std::make_shared<REBNCONV>(mid, mid, 2));
    e3_ = register_module("rebnconv3", std::make_shared<REBNCONV>(mid, mid, 4));
    e4_ = register_module("rebnconv4", std::make_shared<REBNCONV>(mid, mid, 8));
    d3_ = register_module("rebnconv3d", std::make_shared<REBNCONV>(2 * mid, mid, 4));
    d2_ = register_module("rebnconv2d", std::make_shared<REBNCONV>(2 * mid, mid, 2));
    d1_ = register_module("rebnconv1d", std::make_shared<REBNCONV>(2 * mid, out, 1));
}

Tensor RSU4F::forward(const Tensor& x) {
    const Tensor xin = (*in_)(x);
    const Tensor e1 = (*e1_)(xin), e2 = (*e2_)(e1), e3 = (*e3_)(e2), e4 = (*e4_)(e3);
    const Tensor d3 = (*d3_)(cat({e4, e3}, 1));
    const Tensor d2 = (*d2_)(cat({d3, e2}, 1));
    return (*d1_)(cat({d2, e1}, 1)) + xin;
}

namespace {

// A stage: RSU<height> or RSU4F (height 0).
nn::ModulePtr make_stage(int64_t height, int64_t in, int64_t mid, int64_t out) {
    if (height == 0) return std::make_shared<RSU4F>(in, mid, out);
    return std::make_shared<RSU>(height, in, mid, out);
}

constexpr int64_t kHeights[11] = {7, 6, 5, 4, 0, 0, 0, 4, 5, 6, 7};  // stage1..6, stage5d..1d (0: RSU4F)

}  // namespace

U2NET::U2NET(int64_t in_channels, int64_t out_channels)
    : U2NET("U2NET", in_channels, out_channels,
            {{in_channels, 32, 64}, {64, 32, 128}, {128, 64, 256}, {256, 128, 512}, {512, 256, 512}, {512, 256, 512},
             {1024, 256, 512}, {1024, 128, 256}, {512, 64, 128}, {256, 32, 64}, {128, 16, 64}}) {}

U2NETP::U2NETP(int64_t in_channels, int64_t out_channels)
    : U2NET("U2NETP", in_channels, out_channels,
            {{in_channels, 16, 64}, {64, 16, 64}, {64, 16, 64}, {64, 16, 64}, {64, 16, 64}, {64, 16, 64},
             {128, 16, 64}, {128, 16, 64}, {128, 16, 64}, {128, 16, 64}, {128, 16, 64}}) {}

U2NET::U2NET(const char* type_name, int64_t in_channels, int64_t out_channels, const std::vector<Widths>& w)
    : nn::Module(type_name) {
    if (w.size() != 11 || w[0].in != in_channels)
        throw ValueError(fmt::format("{}: expects 11 stage widths starting with {} input channels", type_name, in_channels));
    for (size_t i = 0; i < 6; ++i)
        encoder_.push_back(register_module(fmt::format("stage{}", i + 1), make_stage(kHeights[i], w[i].in, w[i].mid, w[i].out)));
    for (size_t i = 6; i < 11; ++i)
        decoder_.push_back(register_module(fmt::format("stage{}d", 11 - i), make_stage(kHeights[i], w[i].in, w[i].mid, w[i].out)));
    // side1..side5 read the decoder outputs stage1d..stage5d, side6 the last encoder stage.
    const int64_t side_in[6] = {w[10].out, w[9].out, w[8].out, w[7].out, w[6].out, w[5].out};
    for (int64_t k = 0; k < 6; ++k)
        side_.push_back(register_module(fmt::format("side{}", k + 1),
                                        std::make_shared<nn::Conv2d>(side_in[k], out_channels, 3, nn::Conv2dArgs{.padding = 1})));
    outconv_ = register_module("outconv", std::make_shared<nn::Conv2d>(6 * out_channels, out_channels, 1));
}

std::vector<Tensor> U2NET::forward_outputs(const Tensor& x) {  // x: [N, 3, H, W]
    std::vector<Tensor> enc;                                     // hx1 .. hx6
    for (size_t i = 0; i < 6; ++i) enc.push_back((*encoder_[i])(i == 0 ? x : pool(enc.back())));
    Tensor d = enc[5];              // hx6
    std::vector<Tensor> levels(6);  // the inputs of side1..side6: hx1d, hx2d, hx3d, hx4d, hx5d, hx6
    levels[5] = d;
    for (size_t i = 0; i < 5; ++i) {  // stage5d .. stage1d
        const Tensor& skip = enc[4 - i];
        d = (*decoder_[i])(cat({upsample_like(d, skip), skip}, 1));
        levels[4 - i] = d;
    }
    std::vector<Tensor> sides;
    for (size_t k = 0; k < 6; ++k) sides.push_back(upsample_like((*side_[k])(levels[k]), levels[0]));  // [N, 1, H, W]
    std::vector<Tensor> out{(*outconv_)(cat(sides, 1))};
    out.insert(out.end(), sides.begin(), sides.end());
    return out;  // d0 (fused), d1 .. d6
}

}  // namespace nabla::models
