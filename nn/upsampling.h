// nn/upsampling.h — torch.nn.Upsample, PixelShuffle and PixelUnshuffle over ops/interpolate.h and
// ops/pixel_shuffle.h (where the size and coordinate rules are).
//   nn::Upsample up({.scale_factor = 2.0, .mode = InterpolateMode::Bilinear});   // [N, C, H, W] -> [N, C, 2H, 2W]
//   nn::Upsample to({.size = Int2{40, 40}, .mode = InterpolateMode::Bicubic, .align_corners = true});
//   nn::PixelShuffle ps(2);                                                       // [N, 4C, H, W] -> [N, C, 2H, 2W]
// Upsample's print format is torch's (scale_factor printed as floats, align_corners not printed).
// macs(): 0 (interpolation weights are not learned).
#pragma once
#include <optional>

#include "nn/module.h"
#include "ops/options.h"

namespace nabla::nn {

struct Scale2 {  // a scale factor per axis (h, w), written 2.0 or {1.5, 2.0} as torch's float-or-tuple
    double h = 1, w = 1;
    constexpr Scale2(double v) : h(v), w(v) {}  // NOLINT(google-explicit-constructor): torch's scale_factor=2
    constexpr Scale2(double h_, double w_) : h(h_), w(w_) {}
};

struct UpsampleArgs {  // give size or scale_factor, as torch
    std::optional<Int2> size = std::nullopt;
    std::optional<Scale2> scale_factor = std::nullopt;
    InterpolateMode mode = InterpolateMode::Nearest;
    std::optional<bool> align_corners = std::nullopt;  // bilinear and bicubic only; false when not given
    bool recompute_scale_factor = false;
};

class Upsample : public Module {
public:
    // A ValueError naming Upsample for both or neither of size and scale_factor, a non-positive size or scale, or
    // align_corners with mode nearest.
    explicit Upsample(UpsampleArgs args);
    Tensor forward(const Tensor& x) override;  // [N, C, H, W] -> [N, C, out_h, out_w]
    std::string extra_repr() const override;

    const UpsampleArgs options;
};

class PixelShuffle : public Module {  // [*, C*r*r, H, W] -> [*, C, H*r, W*r]
public:
    explicit PixelShuffle(int64_t upscale_factor);  // a ValueError for r < 1
    Tensor forward(const Tensor& x) override;
    std::string extra_repr() const override;

    const int64_t upscale_factor;
};

class PixelUnshuffle : public Module {  // [*, C, H*r, W*r] -> [*, C*r*r, H, W]
public:
    explicit PixelUnshuffle(int64_t downscale_factor);  // a ValueError for r < 1
    Tensor forward(const Tensor& x) override;
    std::string extra_repr() const override;

    const int64_t downscale_factor;
};

}  // namespace nabla::nn
