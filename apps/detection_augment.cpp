// apps/detection_augment.cpp — label conversions, the mosaic layout, random_perspective (its matrix, the warp and the
// box filter), HSV and flips, and scale_coords (see detection_augment.h; docs/yolo_data.md §3-§5).
#include "apps/detection_augment.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <numbers>

#include "nn/data/color.h"
#include "ops/factory.h"

namespace nabla::apps {
namespace {

Matrix3 multiply(const Matrix3& a, const Matrix3& b) {
    Matrix3 c{};
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j)
            for (int k = 0; k < 3; ++k) c[i * 3 + j] += a[i * 3 + k] * b[k * 3 + j];
    return c;
}

Matrix3 inverse(const Matrix3& m) {
    const double a = m[0], b = m[1], c = m[2], d = m[3], e = m[4], f = m[5], g = m[6], h = m[7], i = m[8];
    const double A = e * i - f * h, B = -(d * i - f * g), C = d * h - e * g;
    const double det = a * A + b * B + c * C;
    if (det == 0 || !std::isfinite(det))
        throw ValueError(fmt::format("warp_perspective: the matrix [{}] is singular", fmt::join(m, ", ")));
    return {A / det, -(b * i - c * h) / det, (b * f - c * e) / det,
            B / det, (a * i - c * g) / det,  -(a * f - c * d) / det,
            C / det, -(a * h - b * g) / det, (a * e - b * d) / det};
}

bool is_identity(const Matrix3& m) {
    const Matrix3 eye{1, 0, 0, 0, 1, 0, 0, 0, 1};
    return m == eye;
}

void check_image(const Tensor& image, const char* fn) {
    NB_CHECK(image.defined() && image.dim() == 3 && image.size(0) == 3, fn, ": expected an image [3, H, W], got ",
             image.defined() ? shape_str(image.shape()) : "undefined");
}

}  // namespace

BoxLabels xywhn2xyxy(const BoxLabels& labels, double w, double h, double padw, double padh) {
    BoxLabels out = labels;
    for (BoxLabel& l : out) {
        const BoxLabel in = l;
        l[1] = w * (in[1] - in[3] / 2) + padw;
        l[2] = h * (in[2] - in[4] / 2) + padh;
        l[3] = w * (in[1] + in[3] / 2) + padw;
        l[4] = h * (in[2] + in[4] / 2) + padh;
    }
    return out;
}

BoxLabels xyxy2xywhn(const BoxLabels& labels, double w, double h, bool clip, double eps) {
    BoxLabels out = labels;
    for (BoxLabel& l : out) {
        double x1 = l[1], y1 = l[2], x2 = l[3], y2 = l[4];
        if (clip) {
            x1 = std::clamp(x1, 0.0, w - eps), x2 = std::clamp(x2, 0.0, w - eps);
            y1 = std::clamp(y1, 0.0, h - eps), y2 = std::clamp(y2, 0.0, h - eps);
        }
        l[1] = (x1 + x2) / 2 / w;
        l[2] = (y1 + y2) / 2 / h;
        l[3] = (x2 - x1) / w;
        l[4] = (y2 - y1) / h;
    }
    return out;
}

Tensor labels_to_tensor(const BoxLabels& labels) {
    std::vector<float> v;
    v.reserve(labels.size() * 6);
    for (const BoxLabel& l : labels) {
        v.push_back(0.0f);
        for (double x : l) v.push_back(static_cast<float>(x));
    }
    return from_vector(v, {static_cast<int64_t>(labels.size()), 6});
}

MosaicTile mosaic_tile(int quadrant, int64_t xc, int64_t yc, int64_t h, int64_t w, int64_t s) {
    MosaicTile t;
    switch (quadrant) {
        case 0:  // top left: the image's bottom-right corner at the centre
            t.x1a = std::max<int64_t>(xc - w, 0), t.y1a = std::max<int64_t>(yc - h, 0), t.x2a = xc, t.y2a = yc;
            t.x1b = w - (t.x2a - t.x1a), t.y1b = h - (t.y2a - t.y1a), t.x2b = w, t.y2b = h;
            break;
        case 1:  // top right
            t.x1a = xc, t.y1a = std::max<int64_t>(yc - h, 0), t.x2a = std::min(xc + w, 2 * s), t.y2a = yc;
            t.x1b = 0, t.y1b = h - (t.y2a - t.y1a), t.x2b = std::min(w, t.x2a - t.x1a), t.y2b = h;
            break;
        case 2:  // bottom left
            t.x1a = std::max<int64_t>(xc - w, 0), t.y1a = yc, t.x2a = xc, t.y2a = std::min(2 * s, yc + h);
            t.x1b = w - (t.x2a - t.x1a), t.y1b = 0, t.x2b = w, t.y2b = std::min(t.y2a - t.y1a, h);
            break;
        case 3:  // bottom right
            t.x1a = xc, t.y1a = yc, t.x2a = std::min(xc + w, 2 * s), t.y2a = std::min(2 * s, yc + h);
            t.x1b = 0, t.y1b = 0, t.x2b = std::min(w, t.x2a - t.x1a), t.y2b = std::min(t.y2a - t.y1a, h);
            break;
        default: throw ValueError(fmt::format("mosaic_tile: quadrant must be 0..3, got {}", quadrant));
    }
    return t;
}

void paste_tile(Tensor& canvas, const Tensor& image, const MosaicTile& t) {
    check_image(canvas, "paste_tile");
    check_image(image, "paste_tile");
    NB_CHECK(canvas.dtype() == kFloat32 && image.dtype() == kFloat32 && canvas.is_contiguous(),
             "paste_tile: expected a contiguous float32 canvas and a float32 image");
    const Tensor src = image.contiguous();
    const int64_t H = canvas.size(1), W = canvas.size(2), h = src.size(1), w = src.size(2);
    NB_CHECK(t.x2a - t.x1a == t.x2b - t.x1b && t.y2a - t.y1a == t.y2b - t.y1b && t.x1a >= 0 && t.y1a >= 0 &&
                 t.x2a <= W && t.y2a <= H && t.x1b >= 0 && t.y1b >= 0 && t.x2b <= w && t.y2b <= h,
             "paste_tile: windows do not fit: canvas ", canvas.shape(), ", image ", image.shape());
    float* dst = canvas.data_ptr<float>();
    const float* from = src.data_ptr<float>();
    for (int64_t c = 0; c < 3; ++c)
        for (int64_t y = t.y1a; y < t.y2a; ++y)
            std::copy_n(from + (c * h + (y - t.y1a + t.y1b)) * w + t.x1b, t.x2a - t.x1a, dst + (c * H + y) * W + t.x1a);
}

Perspective random_perspective_params(int64_t height, int64_t width, Int2 border, const AugmentHyp& hyp,
                                      Generator& gen) {
    auto uniform = [&](double lo, double hi) { return lo + (hi - lo) * gen.uniform(); };
    Perspective p;
    p.height = height + border.h * 2;
    p.width = width + border.w * 2;
    NB_CHECK_VALUE(p.height > 0 && p.width > 0, "random_perspective: border (", border.h, ", ", border.w,
                   ") leaves no output for an input ", height, "x", width);
    const double kRad = std::numbers::pi / 180.0;
    const Matrix3 C{1, 0, -static_cast<double>(width) / 2, 0, 1, -static_cast<double>(height) / 2, 0, 0, 1};
    Matrix3 P{1, 0, 0, 0, 1, 0, 0, 0, 1};
    P[6] = uniform(-hyp.perspective, hyp.perspective);  // x perspective (about y)
    P[7] = uniform(-hyp.perspective, hyp.perspective);  // y perspective (about x)
    const double a = uniform(-hyp.degrees, hyp.degrees) * kRad;
    const double s = uniform(1 - hyp.scale, 1 + hyp.scale);
    const double alpha = s * std::cos(a), beta = s * std::sin(a);
    const Matrix3 R{alpha, beta, 0, -beta, alpha, 0, 0, 0, 1};  // cv2.getRotationMatrix2D about (0, 0)
    Matrix3 S{1, 0, 0, 0, 1, 0, 0, 0, 1};
    S[1] = std::tan(uniform(-hyp.shear, hyp.shear) * kRad);  // x shear
    S[3] = std::tan(uniform(-hyp.shear, hyp.shear) * kRad);  // y shear
    Matrix3 T{1, 0, 0, 0, 1, 0, 0, 0, 1};
    T[2] = uniform(0.5 - hyp.translate, 0.5 + hyp.translate) * static_cast<double>(p.width);
    T[5] = uniform(0.5 - hyp.translate, 0.5 + hyp.translate) * static_cast<double>(p.height);
    p.matrix = multiply(T, multiply(S, multiply(R, multiply(P, C))));
    p.scale = s;
    p.perspective = P[6] != 0 || P[7] != 0;
    return p;
}

Perspective scale_translate(int64_t height, int64_t width, Int2 border, double scale, double tx, double ty) {
    Perspective p;
    p.height = height + border.h * 2;
    p.width = width + border.w * 2;
    p.matrix = {scale, 0,     tx - scale * static_cast<double>(width) / 2,
                0,     scale, ty - scale * static_cast<double>(height) / 2,
                0,     0,     1};
    p.scale = scale;
    return p;
}

Tensor warp_perspective(const Tensor& image, const Matrix3& m, int64_t out_h, int64_t out_w, double fill) {
    check_image(image, "warp_perspective");
    NB_CHECK_VALUE(out_h > 0 && out_w > 0, "warp_perspective: output size ", out_h, "x", out_w, " is empty");
    const Matrix3 inv = inverse(m);
    const Tensor src = image.to(kFloat32).contiguous();
    const int64_t h = src.size(1), w = src.size(2);
    Tensor out = empty({3, out_h, out_w}, {.dtype = kFloat32});
    const float* x = src.data_ptr<float>();
    float* y = out.data_ptr<float>();
    const float f = static_cast<float>(fill);
    for (int64_t i = 0; i < out_h; ++i)
        for (int64_t j = 0; j < out_w; ++j) {
            const double qx = static_cast<double>(j) + 0.5, qy = static_cast<double>(i) + 0.5;
            const double pw = inv[6] * qx + inv[7] * qy + inv[8];
            // the source point in pixel-index coordinates (centres at integers)
            const double sx = (inv[0] * qx + inv[1] * qy + inv[2]) / pw - 0.5;
            const double sy = (inv[3] * qx + inv[4] * qy + inv[5]) / pw - 0.5;
            const int64_t o = i * out_w + j;
            if (!(sx > -1 && sx < static_cast<double>(w) && sy > -1 && sy < static_cast<double>(h))) {
                for (int64_t c = 0; c < 3; ++c) y[c * out_h * out_w + o] = f;
                continue;
            }
            const double fx = std::floor(sx), fy = std::floor(sy);
            const float ax = static_cast<float>(sx - fx), ay = static_cast<float>(sy - fy);
            const int64_t x0 = static_cast<int64_t>(fx), y0 = static_cast<int64_t>(fy);
            const bool in_x0 = x0 >= 0, in_x1 = x0 + 1 < w, in_y0 = y0 >= 0, in_y1 = y0 + 1 < h;
            for (int64_t c = 0; c < 3; ++c) {
                const float* p = x + c * h * w;
                const float v00 = in_y0 && in_x0 ? p[y0 * w + x0] : f, v01 = in_y0 && in_x1 ? p[y0 * w + x0 + 1] : f;
                const float v10 = in_y1 && in_x0 ? p[(y0 + 1) * w + x0] : f;
                const float v11 = in_y1 && in_x1 ? p[(y0 + 1) * w + x0 + 1] : f;
                y[c * out_h * out_w + o] = (1 - ay) * ((1 - ax) * v00 + ax * v01) + ay * ((1 - ax) * v10 + ax * v11);
            }
        }
    return out;
}

BoxLabels transform_boxes(const BoxLabels& labels, const Perspective& p) {
    const Matrix3& m = p.matrix;
    BoxLabels out = labels;
    for (BoxLabel& l : out) {
        const double corners[4][2] = {{l[1], l[2]}, {l[3], l[4]}, {l[1], l[4]}, {l[3], l[2]}};
        double x1 = 1e300, y1 = 1e300, x2 = -1e300, y2 = -1e300;
        for (const auto& c : corners) {
            double x = m[0] * c[0] + m[1] * c[1] + m[2], y = m[3] * c[0] + m[4] * c[1] + m[5];
            if (p.perspective) {
                const double w = m[6] * c[0] + m[7] * c[1] + m[8];
                x /= w, y /= w;
            }
            x1 = std::min(x1, x), y1 = std::min(y1, y), x2 = std::max(x2, x), y2 = std::max(y2, y);
        }
        const double W = static_cast<double>(p.width), H = static_cast<double>(p.height);
        l[1] = std::clamp(x1, 0.0, W), l[2] = std::clamp(y1, 0.0, H);
        l[3] = std::clamp(x2, 0.0, W), l[4] = std::clamp(y2, 0.0, H);
    }
    return out;
}

std::vector<bool> box_candidates(const BoxLabels& before, const BoxLabels& after, double wh_thr, double ar_thr,
                                 double area_thr, double eps) {
    NB_CHECK(before.size() == after.size(), "box_candidates: ", before.size(), " boxes before but ", after.size(),
             " after");
    std::vector<bool> keep(before.size());
    for (size_t i = 0; i < before.size(); ++i) {
        const double w1 = before[i][3] - before[i][1], h1 = before[i][4] - before[i][2];
        const double w2 = after[i][3] - after[i][1], h2 = after[i][4] - after[i][2];
        const double ar = std::max(w2 / (h2 + eps), h2 / (w2 + eps));
        keep[i] = w2 > wh_thr && h2 > wh_thr && w2 * h2 / (w1 * h1 + eps) > area_thr && ar < ar_thr;
    }
    return keep;
}

Augmented apply_perspective(const Tensor& image, const BoxLabels& labels, const Perspective& p) {
    check_image(image, "random_perspective");
    Augmented out;
    const bool changed = p.height != image.size(1) || p.width != image.size(2) || !is_identity(p.matrix);
    out.image = changed ? warp_perspective(image, p.matrix, p.height, p.width) : image;
    if (labels.empty()) return out;
    const BoxLabels moved = transform_boxes(labels, p);
    BoxLabels scaled = labels;  // box1 of box_candidates: the boxes before, times the scale
    for (BoxLabel& l : scaled)
        for (int k = 1; k < 5; ++k) l[k] *= p.scale;
    const std::vector<bool> keep = box_candidates(scaled, moved);
    for (size_t i = 0; i < moved.size(); ++i)
        if (keep[i]) out.labels.push_back(moved[i]);
    return out;
}

Augmented random_perspective(const Tensor& image, const BoxLabels& labels, const AugmentHyp& hyp, Int2 border,
                             Generator& gen) {
    check_image(image, "random_perspective");
    return apply_perspective(image, labels, random_perspective_params(image.size(1), image.size(2), border, hyp, gen));
}

Tensor augment_hsv(const Tensor& image, const AugmentHyp& hyp, Generator& gen) {
    if (hyp.hsv_h == 0 && hyp.hsv_s == 0 && hyp.hsv_v == 0) return image;
    const auto gains = data::random_hsv_gains({.hgain = hyp.hsv_h, .sgain = hyp.hsv_s, .vgain = hyp.hsv_v}, gen);
    return data::adjust_hsv(image, gains);
}

void fliplr_labels(BoxLabels& labels) {
    for (BoxLabel& l : labels) l[1] = 1 - l[1];
}

void flipud_labels(BoxLabels& labels) {
    for (BoxLabel& l : labels) l[2] = 1 - l[2];
}

Tensor LetterboxShape::to_tensor() const {
    return from_vector(
        std::vector<double>{static_cast<double>(height0), static_cast<double>(width0), ratio_h, ratio_w, pad_w, pad_h},
        {6});
}

LetterboxShape LetterboxShape::from_tensor(const Tensor& row) {
    NB_CHECK(row.defined() && row.dim() == 1 && row.size(0) == 6,
             "LetterboxShape: expected [6] (h0, w0, ratio_h, ratio_w, pad_w, pad_h), got ",
             row.defined() ? shape_str(row.shape()) : "undefined");
    const Tensor v = row.to(kCPU).to(kFloat64).contiguous();
    const double* p = v.data_ptr<double>();
    return {std::llround(p[0]), std::llround(p[1]), p[2], p[3], p[4], p[5]};
}

Tensor scale_coords(const Tensor& boxes, const LetterboxShape& s) {
    NB_CHECK(boxes.defined() && boxes.dim() == 2 && boxes.size(1) >= 4,
             "scale_coords: expected boxes [n, k >= 4] (x1, y1, x2, y2, ...), got ",
             boxes.defined() ? shape_str(boxes.shape()) : "undefined");
    Tensor b = boxes.detach().to(kCPU).to(kFloat64).contiguous().clone();
    double* p = b.data_ptr<double>();
    const int64_t n = b.size(0), k = b.size(1);
    const double W = static_cast<double>(s.width0), H = static_cast<double>(s.height0);
    for (int64_t i = 0; i < n; ++i) {
        double* r = p + i * k;
        r[0] = std::clamp((r[0] - s.pad_w) / s.ratio_w, 0.0, W);
        r[2] = std::clamp((r[2] - s.pad_w) / s.ratio_w, 0.0, W);
        r[1] = std::clamp((r[1] - s.pad_h) / s.ratio_h, 0.0, H);
        r[3] = std::clamp((r[3] - s.pad_h) / s.ratio_h, 0.0, H);
    }
    return b.to(boxes.dtype()).to(boxes.device());
}

}  // namespace nabla::apps
