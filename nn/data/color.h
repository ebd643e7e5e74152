// nn/data/color.h — HSV conversions and ultralytics' HSV augmentation (augment_hsv of YOLOv5's utils/augmentations.py;
// the conversions are torchvision's _rgb2hsv / _hsv2rgb, as used by F.adjust_hue).
//   image = hsv_jitter(image, gen);   // gains drawn with hgain .015, sgain .7, vgain .5
// ultralytics works on uint8 OpenCV HSV through lookup tables: hue' = (hue * gh) mod 180, sat' = clip(sat * gs, 0,
// 255), val' = clip(val * gv, 0, 255). Here the same on float [3, H, W] RGB in [0, 1] without the 8-bit
// quantisation: h' = (h * gh) mod 1, s' = clamp(s * gs, 0, 1), v' = clamp(v * gv, 0, 1).
#pragma once
#include <array>

#include "core/generator.h"
#include "core/tensor.h"

namespace nabla::data {

// float RGB [..., 3, H, W] in [0, 1] <-> HSV [..., 3, H, W] with h, s, v in [0, 1] (h = hue degrees / 360).
Tensor rgb_to_hsv(const Tensor& image);
Tensor hsv_to_rgb(const Tensor& image);

// Multiplies hue, saturation and value by the gains (as above).
Tensor adjust_hsv(const Tensor& image, const std::array<double, 3>& gains);

struct HsvGains {
    double hgain = 0.015, sgain = 0.7, vgain = 0.5;  // YOLOv5's hyp.scratch defaults
};
// The gains ultralytics draws: 1 + uniform(-1, 1) * gain, for h, s, v in that order.
std::array<double, 3> random_hsv_gains(const HsvGains& gains, Generator& gen);
Tensor hsv_jitter(const Tensor& image, Generator& gen, const HsvGains& gains = {});

}  // namespace nabla::data
