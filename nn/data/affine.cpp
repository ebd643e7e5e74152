// nn/data/affine.cpp — affine matrices (torchvision's _get_inverse_affine_matrix, forward form), the warp
// (grid_sample with align_corners=False over the inverse map) and the maps of points and boxes. See affine.h.
#include "nn/data/affine.h"

#include <cmath>
#include <numbers>

#include "ops/elementwise.h"
#include "ops/factory.h"
#include "ops/indexing.h"
#include "ops/reduce.h"

namespace nabla::data {
namespace {

double radians(double degrees) { return degrees * std::numbers::pi / 180.0; }

// x: [P, H, W] contiguous -> y: [P, H, W]; minv maps output points to input points (continuous coordinates).
template <class T>
void warp_planes(const T* x, T* y, int64_t planes, int64_t h, int64_t w, const AffineMatrix& minv, Interpolation mode,
                 std::optional<double> fill) {
    for (int64_t i = 0; i < h; ++i)
        for (int64_t j = 0; j < w; ++j) {
            const double qx = static_cast<double>(j) + 0.5, qy = static_cast<double>(i) + 0.5;
            // input position in pixel-index coordinates (centres at integers)
            const double sx = minv[0] * qx + minv[1] * qy + minv[2] - 0.5;
            const double sy = minv[3] * qx + minv[4] * qy + minv[5] - 0.5;
            for (int64_t p = 0; p < planes; ++p) {
                const T* xp = x + p * h * w;
                double v = 0, in = 0;  // the sample with zero padding, and the weight that fell inside the image
                if (mode == Interpolation::Nearest) {
                    const double rx = std::nearbyint(sx), ry = std::nearbyint(sy);
                    if (rx >= 0 && rx < w && ry >= 0 && ry < h) {
                        v = static_cast<double>(xp[static_cast<int64_t>(ry) * w + static_cast<int64_t>(rx)]);
                        in = 1;
                    }
                } else {
                    const double fx0 = std::floor(sx), fy0 = std::floor(sy);
                    const double ax = sx - fx0, ay = sy - fy0;
                    const int64_t x0 = static_cast<int64_t>(fx0), y0 = static_cast<int64_t>(fy0);
                    const double wts[4] = {(1 - ax) * (1 - ay), ax * (1 - ay), (1 - ax) * ay, ax * ay};
                    for (int k = 0; k < 4; ++k) {
                        const int64_t xx = x0 + (k & 1), yy = y0 + (k >> 1);
                        if (xx < 0 || xx >= w || yy < 0 || yy >= h) continue;
                        v += wts[k] * static_cast<double>(xp[yy * w + xx]);
                        in += wts[k];
                    }
                }
                if (fill) {
                    if (mode == Interpolation::Nearest)
                        v = in < 0.5 ? *fill : v;
                    else
                        v = v * in + (1.0 - in) * *fill;  // torchvision's blend (the sample is weighted twice)
                }
                y[p * h * w + i * w + j] = static_cast<T>(v);
            }
        }
}

}  // namespace

AffineMatrix affine_matrix(const AffineParams& p, int64_t height, int64_t width) {
    NB_CHECK_VALUE(p.scale > 0 && std::isfinite(p.scale), "affine: scale must be positive, got ", p.scale);
    const double rot = radians(p.angle), sx = radians(p.shear[0]), sy = radians(p.shear[1]);
    NB_CHECK_VALUE(std::cos(sy) != 0 && std::isfinite(std::tan(sx)), "affine: shear (", p.shear[0], ", ", p.shear[1],
                   ") degrees is degenerate");
    const double cx = p.center ? (*p.center)[0] : static_cast<double>(width) * 0.5;
    const double cy = p.center ? (*p.center)[1] : static_cast<double>(height) * 0.5;
    // R(a) S(s) SHy(sy) SHx(sx), as torchvision's _get_inverse_affine_matrix writes it
    const double a = std::cos(rot - sy) / std::cos(sy);
    const double b = -std::cos(rot - sy) * std::tan(sx) / std::cos(sy) - std::sin(rot);
    const double c = std::sin(rot - sy) / std::cos(sy);
    const double d = -std::sin(rot - sy) * std::tan(sx) / std::cos(sy) + std::cos(rot);
    AffineMatrix m = {a * p.scale, b * p.scale, 0, c * p.scale, d * p.scale, 0};
    m[2] = cx + p.translate[0] - m[0] * cx - m[1] * cy;
    m[5] = cy + p.translate[1] - m[3] * cx - m[4] * cy;
    return m;
}

AffineMatrix invert(const AffineMatrix& m) {
    const double det = m[0] * m[4] - m[1] * m[3];
    NB_CHECK_VALUE(det != 0 && std::isfinite(det), "affine: the matrix [", m[0], ", ", m[1], ", ", m[2], "; ", m[3],
                   ", ", m[4], ", ", m[5], "] is singular");
    const double i0 = m[4] / det, i1 = -m[1] / det, i3 = -m[3] / det, i4 = m[0] / det;
    return {i0, i1, -(i0 * m[2] + i1 * m[5]), i3, i4, -(i3 * m[2] + i4 * m[5])};
}

Tensor warp_affine(const Tensor& image, const AffineMatrix& m, Interpolation mode, std::optional<double> fill) {
    NB_CHECK(image.defined() && image.dim() >= 2, "warp_affine: expected an image [..., H, W], got ",
             image.defined() ? shape_str(image.shape()) : "undefined");
    NB_CHECK_VALUE(mode != Interpolation::Bicubic,
                   "warp_affine: only Nearest and Bilinear are supported (as torchvision)");
    if (!is_floating(image.dtype())) {
        NB_CHECK_VALUE(mode == Interpolation::Nearest, "warp_affine: ", dtype_name(image.dtype()), " image ",
                       image.shape(), " (a mask?) can only be warped with Nearest");
        return warp_affine(image.to(kFloat32), m, mode, fill).to(image.dtype());
    }
    const AffineMatrix minv = invert(m);
    const int64_t h = image.size(-2), w = image.size(-1), planes = h * w > 0 ? image.numel() / (h * w) : 0;
    Tensor x = image.detach().to(kCPU).contiguous();
    Tensor y = empty(image.shape(), {.dtype = image.dtype()});
    dispatch_floating(image.dtype(), "warp_affine", [&]<class T>() {
        warp_planes<T>(x.data_ptr<T>(), y.data_ptr<T>(), planes, h, w, minv, mode, fill);
    });
    return y;
}

Tensor affine(const Tensor& image, const AffineParams& params, Interpolation mode, std::optional<double> fill) {
    NB_CHECK(image.defined() && image.dim() >= 2, "affine: expected an image [..., H, W], got ",
             image.defined() ? shape_str(image.shape()) : "undefined");
    return warp_affine(image, affine_matrix(params, image.size(-2), image.size(-1)), mode, fill);
}

AffineMatrix rotation_matrix(double angle, int64_t height, int64_t width) {
    AffineParams params;
    params.angle = -angle;  // F.rotate passes -angle to the affine matrix
    return affine_matrix(params, height, width);
}

Tensor rotate(const Tensor& image, double angle, Interpolation mode, std::optional<double> fill) {
    NB_CHECK(image.defined() && image.dim() >= 2, "rotate: expected an image [..., H, W], got ",
             image.defined() ? shape_str(image.shape()) : "undefined");
    return warp_affine(image, rotation_matrix(angle, image.size(-2), image.size(-1)), mode, fill);
}

Tensor affine_points(const Tensor& points, const AffineMatrix& m) {
    NB_CHECK(points.defined() && points.dim() >= 1 && points.size(-1) == 2,
             "affine_points: expected points [..., 2], got ",
             points.defined() ? shape_str(points.shape()) : "undefined");
    if (!is_floating(points.dtype()))
        throw TypeError(detail::concat("affine_points: expected floating points, got ", dtype_name(points.dtype())));
    Tensor x = points.detach().select(-1, 0), y = points.detach().select(-1, 1);
    return stack({add(add(mul(x, m[0]), mul(y, m[1])), m[2]), add(add(mul(x, m[3]), mul(y, m[4])), m[5])}, -1);
}

Tensor affine_boxes(const Tensor& boxes, const AffineMatrix& m, int64_t width, int64_t height) {
    NB_CHECK(boxes.defined() && boxes.dim() >= 1 && boxes.size(-1) == 4, "affine_boxes: expected boxes [..., 4], got ",
             boxes.defined() ? shape_str(boxes.shape()) : "undefined");
    Tensor b = boxes.detach();
    Tensor x1 = b.select(-1, 0), y1 = b.select(-1, 1), x2 = b.select(-1, 2), y2 = b.select(-1, 3);
    // corners [..., 4, 2]
    Tensor corners = stack({stack({x1, y1}, -1), stack({x2, y1}, -1), stack({x1, y2}, -1), stack({x2, y2}, -1)}, -2);
    Tensor t = affine_points(corners, m);
    Tensor xs = t.select(-1, 0), ys = t.select(-1, 1);
    const double W = static_cast<double>(width), H = static_cast<double>(height);
    return stack({clamp(amin(xs, {-1}), 0.0, W), clamp(amin(ys, {-1}), 0.0, H), clamp(amax(xs, {-1}), 0.0, W),
                  clamp(amax(ys, {-1}), 0.0, H)},
                 -1);
}

AffineParams random_affine_params(const RandomAffineOptions& o, int64_t height, int64_t width, Generator& gen) {
    auto uniform = [&](std::array<double, 2> r) {
        NB_CHECK_VALUE(r[0] <= r[1], "random_affine_params: range [", r[0], ", ", r[1], "] is reversed");
        return r[0] + (r[1] - r[0]) * gen.uniform();
    };
    AffineParams p;
    p.angle = uniform(o.degrees);
    const double max_dx = o.translate[0] * static_cast<double>(width),
                 max_dy = o.translate[1] * static_cast<double>(height);
    p.translate = {std::nearbyint(uniform({-max_dx, max_dx})), std::nearbyint(uniform({-max_dy, max_dy}))};
    p.scale = uniform(o.scale);
    p.shear = {uniform(o.shear_x), uniform(o.shear_y)};
    return p;
}

}  // namespace nabla::data
