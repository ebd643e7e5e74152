// nn/data/letterbox.cpp — ultralytics' letterbox, line by line (see letterbox.h for the numbers).
#include "nn/data/letterbox.h"

#include <algorithm>
#include <cmath>

#include "ops/elementwise.h"
#include "ops/indexing.h"

namespace nabla::data {
namespace {

int64_t round_half_even(double x) { return static_cast<int64_t>(std::nearbyint(x)); }

}  // namespace

Letterbox letterbox(const Tensor& image, const LetterboxOptions& o) {
    NB_CHECK(image.defined() && image.dim() >= 2, "letterbox: expected an image [C, H, W], got ",
             image.defined() ? shape_str(image.shape()) : "undefined");
    NB_CHECK_VALUE(o.new_shape.h > 0 && o.new_shape.w > 0 && o.stride > 0, "letterbox: new_shape ", o.new_shape,
                   " and stride ", o.stride, " must be positive");
    const int64_t h = image.size(-2), w = image.size(-1);
    NB_CHECK(h > 0 && w > 0, "letterbox: the image is empty: ", image.shape());
    Letterbox lb;
    double r = std::min(static_cast<double>(o.new_shape.h) / h, static_cast<double>(o.new_shape.w) / w);
    if (!o.scaleup) r = std::min(r, 1.0);
    lb.ratio_w = lb.ratio_h = r;
    int64_t new_w = round_half_even(static_cast<double>(w) * r), new_h = round_half_even(static_cast<double>(h) * r);
    double dw = static_cast<double>(o.new_shape.w - new_w), dh = static_cast<double>(o.new_shape.h - new_h);
    if (o.auto_pad) {
        dw = std::fmod(dw, static_cast<double>(o.stride));
        dh = std::fmod(dh, static_cast<double>(o.stride));
    } else if (o.scale_fill) {
        dw = dh = 0;
        new_w = o.new_shape.w;
        new_h = o.new_shape.h;
        lb.ratio_w = static_cast<double>(o.new_shape.w) / w;
        lb.ratio_h = static_cast<double>(o.new_shape.h) / h;
    }
    lb.pad_w = dw / 2;
    lb.pad_h = dh / 2;
    Tensor resized = (new_w != w || new_h != h) ? resize(image, {new_h, new_w}, o.mode) : image.detach();
    lb.top = round_half_even(lb.pad_h - 0.1);
    lb.left = round_half_even(lb.pad_w - 0.1);
    const int64_t bottom = round_half_even(lb.pad_h + 0.1), right = round_half_even(lb.pad_w + 0.1);
    lb.image = crop(resized, {-lb.top, -lb.left, new_h + lb.top + bottom, new_w + lb.left + right}, o.fill);
    return lb;
}

Tensor letterbox_points(const Tensor& points, const Letterbox& lb) {
    NB_CHECK(points.defined() && points.dim() >= 1 && points.size(-1) == 2,
             "letterbox_points: expected points [..., 2], got ",
             points.defined() ? shape_str(points.shape()) : "undefined");
    Tensor p = points.detach();
    return stack({add(mul(p.select(-1, 0), lb.ratio_w), static_cast<double>(lb.left)),
                  add(mul(p.select(-1, 1), lb.ratio_h), static_cast<double>(lb.top))},
                 -1);
}

Tensor letterbox_boxes(const Tensor& boxes, const Letterbox& lb) {
    NB_CHECK(boxes.defined() && boxes.dim() >= 1 && boxes.size(-1) == 4,
             "letterbox_boxes: expected boxes [..., 4], got ",
             boxes.defined() ? shape_str(boxes.shape()) : "undefined");
    Tensor b = boxes.detach();
    const Shape pairs = [&] {
        Shape s = b.shape();
        s.back() = 2;
        s.push_back(2);
        return s;
    }();
    return letterbox_points(b.reshape(pairs), lb).reshape(b.shape());
}

}  // namespace nabla::data
