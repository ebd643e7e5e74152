// nn/upsampling.cpp — Upsample (F.interpolate with the layer's options), PixelShuffle, PixelUnshuffle.
#include "nn/upsampling.h"

#include "nn/repr.h"
#include "ops/interpolate.h"
#include "ops/pixel_shuffle.h"

namespace nabla::nn {

namespace {

const char* mode_name(InterpolateMode mode) {
    switch (mode) {
        case InterpolateMode::Nearest: return "nearest";
        case InterpolateMode::Bilinear: return "bilinear";
        case InterpolateMode::Bicubic: return "bicubic";
    }
    return "?";
}

}  // namespace

Upsample::Upsample(UpsampleArgs args) : Module("Upsample"), options(args) {
    NB_CHECK_VALUE(args.size.has_value() != args.scale_factor.has_value(),
                   "Upsample: give exactly one of size and scale_factor");
    NB_CHECK_VALUE(!args.size || (args.size->h > 0 && args.size->w > 0), "Upsample: size must be positive, got ",
                   args.size.value_or(Int2(0)));
    NB_CHECK_VALUE(!args.scale_factor || (args.scale_factor->h > 0 && args.scale_factor->w > 0),
                   "Upsample: scale_factor must be positive, got (", args.scale_factor.value_or(0.0).h, ", ",
                   args.scale_factor.value_or(0.0).w, ")");
    NB_CHECK_VALUE(!(args.mode == InterpolateMode::Nearest && args.align_corners.has_value()),
                   "Upsample: align_corners can only be set with the bilinear and bicubic modes");
}

Tensor Upsample::forward(const Tensor& x) {
    InterpolateOptions o;
    o.size = options.size;
    if (options.scale_factor) o.scale_factor = std::array<double, 2>{options.scale_factor->h, options.scale_factor->w};
    o.mode = options.mode;
    o.align_corners = options.align_corners;
    o.recompute_scale_factor = options.recompute_scale_factor;
    return interpolate(x, o);
}

std::string Upsample::extra_repr() const {
    std::string s;
    if (options.scale_factor) {
        const Scale2 f = *options.scale_factor;
        s = "scale_factor=" + (f.h == f.w ? py_float(f.h) : fmt::format("({}, {})", py_float(f.h), py_float(f.w)));
    } else {
        s = "size=" + py_int_or_pair(*options.size);
    }
    return s + ", mode=" + mode_name(options.mode);
}

PixelShuffle::PixelShuffle(int64_t r) : Module("PixelShuffle"), upscale_factor(r) {
    NB_CHECK_VALUE(r > 0, "PixelShuffle: upscale_factor must be positive, got ", r);
}
Tensor PixelShuffle::forward(const Tensor& x) { return pixel_shuffle(x, upscale_factor); }
std::string PixelShuffle::extra_repr() const { return fmt::format("upscale_factor={}", upscale_factor); }

PixelUnshuffle::PixelUnshuffle(int64_t r) : Module("PixelUnshuffle"), downscale_factor(r) {
    NB_CHECK_VALUE(r > 0, "PixelUnshuffle: downscale_factor must be positive, got ", r);
}
Tensor PixelUnshuffle::forward(const Tensor& x) { return pixel_unshuffle(x, downscale_factor); }
std::string PixelUnshuffle::extra_repr() const { return fmt::format("downscale_factor={}", downscale_factor); }

}  // namespace nabla::nn
