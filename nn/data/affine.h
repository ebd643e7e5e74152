// nn/data/affine.h — affine warps of images, masks, points and boxes (torchvision.transforms.functional.affine /
// rotate and T.RandomAffine.get_params; the box rule of ultralytics' random_perspective).
//   AffineParams p = random_affine_params({.degrees = {-30, 30}, .scale = {0.9, 1.1}}, H, W, gen);
//   auto m = affine_matrix(p, H, W);
//   image = warp_affine(image, m); mask = warp_affine(mask, m, Interpolation::Nearest);
//   points = affine_points(points, m);
// The matrix is the forward map in continuous pixel coordinates (see transforms.h): p' = [m0 m1 m2; m3 m4 m5] [x y 1].
// It is torchvision's: p' = C + T + R S Sh (p - C) with C the centre (W/2, H/2 unless given), T the translation,
// R the rotation by `angle` degrees CLOCKWISE on screen (F.affine's convention; rotate() takes counter-clockwise
// degrees as F.rotate), S the scale and Sh the x and y shears in degrees.
// Sampling is grid_sample's with align_corners=False: output pixel centre q maps to the input point m^-1 q; bilinear
// taps outside the image read 0 (or `fill`, blended with the in-image weight as torchvision does), nearest rounds
// half to even. The output has the input's size.
#pragma once
#include <array>
#include <optional>

#include "nn/data/functional.h"

namespace nabla::data {

using AffineMatrix = std::array<double, 6>;  // [m0 m1 m2; m3 m4 m5], the forward map

struct AffineParams {
    double angle = 0;                          // degrees, clockwise (F.affine)
    std::array<double, 2> translate = {0, 0};  // pixels (x, y)
    double scale = 1;
    std::array<double, 2> shear = {0, 0};         // degrees (x, y)
    std::optional<std::array<double, 2>> center;  // continuous coordinates; the image centre (W/2, H/2) by default
};

AffineMatrix affine_matrix(const AffineParams& params, int64_t height, int64_t width);
AffineMatrix invert(const AffineMatrix& m);  // an Error for a singular matrix

// Warps [..., H, W] (float; or any dtype with Nearest, as masks) by the forward matrix m.
// fill: none = zero padding (F.affine's fill=None); a value = torchvision's fill blend.
Tensor warp_affine(const Tensor& image, const AffineMatrix& m, Interpolation mode = Interpolation::Bilinear,
                   std::optional<double> fill = std::nullopt);
Tensor affine(const Tensor& image, const AffineParams& params, Interpolation mode = Interpolation::Bilinear,
              std::optional<double> fill = std::nullopt);
// F.rotate(expand=False): `angle` degrees counter-clockwise about the image centre.
Tensor rotate(const Tensor& image, double angle, Interpolation mode = Interpolation::Bilinear,
              std::optional<double> fill = std::nullopt);
// The matrix of rotate(angle) for an image of height x width, to move points along.
AffineMatrix rotation_matrix(double angle, int64_t height, int64_t width);

// Points [..., 2] -> m applied to each (x, y).
Tensor affine_points(const Tensor& points, const AffineMatrix& m);
// Boxes [..., 4] xyxy -> the box around the four transformed corners, clipped to [0, width] x [0, height].
Tensor affine_boxes(const Tensor& boxes, const AffineMatrix& m, int64_t width, int64_t height);

// T.RandomAffine's ranges: angle uniform in degrees, translation round(uniform(-t * W, t * W)) pixels (t a fraction
// of the size), scale uniform in scale, shear x and y uniform in their ranges. Drawn in that order.
struct RandomAffineOptions {
    std::array<double, 2> degrees = {0, 0};
    std::array<double, 2> translate = {0, 0};  // fractions of (W, H)
    std::array<double, 2> scale = {1, 1};
    std::array<double, 2> shear_x = {0, 0};
    std::array<double, 2> shear_y = {0, 0};
};
AffineParams random_affine_params(const RandomAffineOptions& options, int64_t height, int64_t width, Generator& gen);

}  // namespace nabla::data
