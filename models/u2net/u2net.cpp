// models/u2net/u2net.cpp — REBNCONV, RSU, RSU4F and U2NET/U2NETP: construction with the public model's names, and
// the forward passes of docs/u2net.md §1–§3, line for line as the public model writes them.
#include "models/u2net/u2net.h"

#include <fmt/format.h>

#include "nn/fusion.h"
#include "ops/ops.h"

namespace nabla::models {
namespace {

// The public model's MaxPool2d(2, stride=2, ceil_mode=True) (pool1, pool12, ...).
Tensor pool(const Tensor& x) { return max_pool2d(x, {.kernel_size = 2, .stride = 2, .ceil_mode = true}); }

// The public model's _upsample_like: bilinear resize of src to tar's height and width (align_corners false).
Tensor upsample_like(const Tensor& src, const Tensor& tar) {
    if (src.size(2) == tar.size(2) && src.size(3) == tar.size(3)) return src;
    return interpolate(src, {.size = Int2{tar.size(2), tar.size(3)}, .mode = InterpolateMode::Bilinear});
}

}  // namespace

// ---- REBNCONV ----

REBNCONV::REBNCONV(int64_t in_channels, int64_t out_channels, int64_t dilation) : nn::Module("REBNCONV") {
    conv_s1 = register_module("conv_s1",
                              std::make_shared<nn::Conv2d>(in_channels, out_channels, 3,
                                                           nn::Conv2dArgs{.padding = dilation, .dilation = dilation}));
    bn_s1 = register_module("bn_s1", std::make_shared<nn::BatchNorm2d>(out_channels));
}

Tensor REBNCONV::forward(const Tensor& x) { return nn::conv_bn_act(*conv_s1, *bn_s1, NormAct::Relu, x); }  // fused

// ---- RSU7, RSU6, RSU5, RSU4 ----

RSU::RSU(int64_t height, int64_t in_channels, int64_t mid, int64_t out) : nn::Module(fmt::format("RSU{}", height)) {
    if (height < 3) throw ValueError(fmt::format("RSU: height must be at least 3, got {}", height));
    rebnconvin = register_module("rebnconvin", std::make_shared<REBNCONV>(in_channels, out, 1));
    for (int64_t k = 1; k <= height; ++k)  // rebnconv1 .. rebnconv<height>; the bottom one dilated 2
        rebnconv.push_back(register_module(fmt::format("rebnconv{}", k),
                                           std::make_shared<REBNCONV>(k == 1 ? out : mid, mid, k == height ? 2 : 1)));
    rebnconvd.resize(static_cast<size_t>(height - 1));
    for (int64_t k = height - 1; k >= 1; --k)  // rebnconv<height-1>d .. rebnconv1d, in the public model's order
        rebnconvd[static_cast<size_t>(k - 1)] =
            register_module(fmt::format("rebnconv{}d", k), std::make_shared<REBNCONV>(2 * mid, k == 1 ? out : mid, 1));
}

Tensor RSU::forward(const Tensor& x) {
    // The public RSU7.forward with its levels numbered: hx[k] is hx<k>, the output of rebnconv<k>.
    const size_t L = rebnconv.size();
    std::vector<Tensor> hx(L + 1);
    const Tensor hxin = (*rebnconvin)(x);
    hx[1] = (*rebnconv[0])(hxin);
    for (size_t k = 2; k < L; ++k) hx[k] = (*rebnconv[k - 1])(pool(hx[k - 1]));
    hx[L] = (*rebnconv[L - 1])(hx[L - 1]);  // the bottom: no pool, dilation 2, same size as hx<L-1>
    // hxd is hx<k>d, from k = L-1 (no upsampling: same size) down to hx1d
    Tensor hxd = (*rebnconvd[L - 2])(cat({hx[L], hx[L - 1]}, 1));
    for (size_t k = L - 2; k >= 1; --k) hxd = (*rebnconvd[k - 1])(cat({upsample_like(hxd, hx[k]), hx[k]}, 1));
    return hxd + hxin;
}

// ---- RSU4F ----

RSU4F::RSU4F(int64_t in_channels, int64_t mid, int64_t out) : nn::Module("RSU4F") {
    rebnconvin = register_module("rebnconvin", std::make_shared<REBNCONV>(in_channels, out, 1));
    rebnconv1 = register_module("rebnconv1", std::make_shared<REBNCONV>(out, mid, 1));
    rebnconv2 = register_module("rebnconv2", std::make_shared<REBNCONV>(mid, mid, 2));
    rebnconv3 = register_module("rebnconv3", std::make_shared<REBNCONV>(mid, mid, 4));
    rebnconv4 = register_module("rebnconv4", std::make_shared<REBNCONV>(mid, mid, 8));
    rebnconv3d = register_module("rebnconv3d", std::make_shared<REBNCONV>(2 * mid, mid, 4));
    rebnconv2d = register_module("rebnconv2d", std::make_shared<REBNCONV>(2 * mid, mid, 2));
    rebnconv1d = register_module("rebnconv1d", std::make_shared<REBNCONV>(2 * mid, out, 1));
}

Tensor RSU4F::forward(const Tensor& x) {
    const Tensor hxin = (*rebnconvin)(x);
    const Tensor hx1 = (*rebnconv1)(hxin);
    const Tensor hx2 = (*rebnconv2)(hx1);
    const Tensor hx3 = (*rebnconv3)(hx2);
    const Tensor hx4 = (*rebnconv4)(hx3);
    const Tensor hx3d = (*rebnconv3d)(cat({hx4, hx3}, 1));
    const Tensor hx2d = (*rebnconv2d)(cat({hx3d, hx2}, 1));
    const Tensor hx1d = (*rebnconv1d)(cat({hx2d, hx1}, 1));
    return hx1d + hxin;
}

// ---- U2NET, U2NETP ----

U2NET::U2NET(int64_t in_channels, int64_t out_channels)
    : U2NET("U2NET", in_channels, out_channels,
            {{in_channels, 32, 64},
             {64, 32, 128},
             {128, 64, 256},
             {256, 128, 512},
             {512, 256, 512},
             {512, 256, 512},
             {1024, 256, 512},
             {1024, 128, 256},
             {512, 64, 128},
             {256, 32, 64},
             {128, 16, 64}}) {}

U2NETP::U2NETP(int64_t in_channels, int64_t out_channels)
    : U2NET("U2NETP", in_channels, out_channels,
            {{in_channels, 16, 64},
             {64, 16, 64},
             {64, 16, 64},
             {64, 16, 64},
             {64, 16, 64},
             {64, 16, 64},
             {128, 16, 64},
             {128, 16, 64},
             {128, 16, 64},
             {128, 16, 64},
             {128, 16, 64}}) {}

U2NET::U2NET(const char* type_name, int64_t in_channels, int64_t out_channels, const std::vector<Widths>& w)
    : nn::Module(type_name) {
    if (w.size() != 11 || w[0].in != in_channels)
        throw ValueError(
            fmt::format("{}: expects 11 stage widths starting with {} input channels", type_name, in_channels));
    auto rsu = [&](const char* name, int64_t height, const Widths& s) {
        return register_module(name, std::make_shared<RSU>(height, s.in, s.mid, s.out));
    };
    auto rsu4f = [&](const char* name, const Widths& s) {
        return register_module(name, std::make_shared<RSU4F>(s.in, s.mid, s.out));
    };
    auto side = [&](const char* name, const Widths& input_stage) {  // 3x3 conv of that stage's output
        return register_module(
            name, std::make_shared<nn::Conv2d>(input_stage.out, out_channels, 3, nn::Conv2dArgs{.padding = 1}));
    };
    stage1 = rsu("stage1", 7, w[0]);
    stage2 = rsu("stage2", 6, w[1]);
    stage3 = rsu("stage3", 5, w[2]);
    stage4 = rsu("stage4", 4, w[3]);
    stage5 = rsu4f("stage5", w[4]);
    stage6 = rsu4f("stage6", w[5]);
    stage5d = rsu4f("stage5d", w[6]);
    stage4d = rsu("stage4d", 4, w[7]);
    stage3d = rsu("stage3d", 5, w[8]);
    stage2d = rsu("stage2d", 6, w[9]);
    stage1d = rsu("stage1d", 7, w[10]);
    side1 = side("side1", w[10]);  // stage1d
    side2 = side("side2", w[9]);   // stage2d
    side3 = side("side3", w[8]);   // stage3d
    side4 = side("side4", w[7]);   // stage4d
    side5 = side("side5", w[6]);   // stage5d
    side6 = side("side6", w[5]);   // stage6
    outconv = register_module("outconv", std::make_shared<nn::Conv2d>(6 * out_channels, out_channels, 1));
}

std::vector<Tensor> U2NET::forward_outputs(const Tensor& x) {  // x: [N, 3, H, W]
    // encoder
    const Tensor hx1 = (*stage1)(x);
    const Tensor hx2 = (*stage2)(pool(hx1));
    const Tensor hx3 = (*stage3)(pool(hx2));
    const Tensor hx4 = (*stage4)(pool(hx3));
    const Tensor hx5 = (*stage5)(pool(hx4));
    const Tensor hx6 = (*stage6)(pool(hx5));
    // decoder: the upsampled tensor first in every concat
    const Tensor hx5d = (*stage5d)(cat({upsample_like(hx6, hx5), hx5}, 1));
    const Tensor hx4d = (*stage4d)(cat({upsample_like(hx5d, hx4), hx4}, 1));
    const Tensor hx3d = (*stage3d)(cat({upsample_like(hx4d, hx3), hx3}, 1));
    const Tensor hx2d = (*stage2d)(cat({upsample_like(hx3d, hx2), hx2}, 1));
    const Tensor hx1d = (*stage1d)(cat({upsample_like(hx2d, hx1), hx1}, 1));
    // side outputs, each [N, out, H, W], and their fusion
    const Tensor d1 = (*side1)(hx1d);
    const Tensor d2 = upsample_like((*side2)(hx2d), d1);
    const Tensor d3 = upsample_like((*side3)(hx3d), d1);
    const Tensor d4 = upsample_like((*side4)(hx4d), d1);
    const Tensor d5 = upsample_like((*side5)(hx5d), d1);
    const Tensor d6 = upsample_like((*side6)(hx6), d1);
    const Tensor d0 = (*outconv)(cat({d1, d2, d3, d4, d5, d6}, 1));
    return {d0, d1, d2, d3, d4, d5, d6};
}

}  // namespace nabla::models
