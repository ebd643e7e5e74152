// nn/data/functional.cpp — to_tensor, normalize, crops and flips with their point and box maps (see functional.h;
// resize is in resize.cpp). Built from ops (narrow, flip, stack, ...) so any dtype and layout works.
#include "nn/data/functional.h"

#include <algorithm>
#include <cmath>

#include "nn/data/image.h"
#include "ops/elementwise.h"
#include "ops/factory.h"
#include "ops/indexing.h"

namespace nabla::data {
namespace {

void check_image(const Tensor& x, const char* fn) {
    NB_CHECK(x.defined() && x.dim() >= 2, fn, ": expected an image [..., H, W], got ",
             x.defined() ? shape_str(x.shape()) : "undefined");
}

// points [..., last] of a floating dtype; returns its columns.
std::vector<Tensor> columns(const Tensor& t, int64_t last, const char* fn, const char* what) {
    NB_CHECK(t.defined() && t.dim() >= 1 && t.size(-1) == last, fn, ": expected ", what, " [..., ", last, "], got ",
             t.defined() ? shape_str(t.shape()) : "undefined");
    if (!is_floating(t.dtype()))
        throw TypeError(detail::concat(fn, ": expected floating ", what, ", got ", dtype_name(t.dtype())));
    std::vector<Tensor> cols;
    for (int64_t k = 0; k < last; ++k) cols.push_back(t.detach().select(-1, k));
    return cols;
}

// Reorders points [..., K, 2] along K: result[k] = points[flip_index[k]].
Tensor permute_points(const Tensor& points, const std::vector<int64_t>& flip_index, const char* fn) {
    if (flip_index.empty()) return points;
    NB_CHECK(points.dim() >= 2 && points.size(-2) == static_cast<int64_t>(flip_index.size()), fn, ": flip_index has ",
             flip_index.size(), " entries but the points are ", points.shape());
    std::vector<bool> seen(flip_index.size(), false);
    for (int64_t k : flip_index) {
        NB_CHECK_VALUE(k >= 0 && k < static_cast<int64_t>(flip_index.size()) && !seen[static_cast<size_t>(k)], fn,
                       ": flip_index must be a permutation of 0..", flip_index.size() - 1, ", got ", flip_index);
        seen[static_cast<size_t>(k)] = true;
    }
    return index_select(points, points.dim() - 2, from_vector(flip_index));
}

}  // namespace

Tensor to_tensor(const Tensor& image, bool channels_last) {
    NB_CHECK(image.defined() && (image.dim() == 2 || image.dim() == 3), "to_tensor: expected an image ",
             channels_last ? "[H, W, C]" : "[C, H, W]", " or [H, W], got ",
             image.defined() ? shape_str(image.shape()) : "undefined");
    if (image.dtype() != kUInt8)
        throw TypeError(
            detail::concat("to_tensor: expected a uint8 image, got ", dtype_name(image.dtype()), " ", image.shape()));
    Tensor chw = image.dim() == 2 ? image.unsqueeze(0) : channels_last ? image.permute({2, 0, 1}) : image;
    return to_float(chw.contiguous());
}

Tensor normalize(const Tensor& image, const std::vector<double>& mean, const std::vector<double>& std) {
    NB_CHECK(image.defined() && (image.dim() == 3 || image.dim() == 4),
             "normalize: expected [C, H, W] or [N, C, H, W], got ",
             image.defined() ? shape_str(image.shape()) : "undefined");
    if (!is_floating(image.dtype()))
        throw TypeError(detail::concat("normalize: expected a floating image, got ", dtype_name(image.dtype()),
                                       " (convert with to_tensor)"));
    const int64_t c = image.size(-3);
    auto fits = [&](const std::vector<double>& v) { return v.size() == 1 || static_cast<int64_t>(v.size()) == c; };
    NB_CHECK_VALUE(fits(mean) && fits(std), "normalize: mean (", mean.size(), " values) and std (", std.size(),
                   " values) must have 1 or C = ", c, " values for image ", image.shape());
    for (double s : std)
        NB_CHECK_VALUE(s != 0, "normalize: std evaluated to zero, leading to division by zero (std ", std, ")");
    const Shape per_channel = {static_cast<int64_t>(mean.size()), 1, 1};
    Tensor m = from_vector(mean, per_channel, {.dtype = image.dtype()});
    Tensor s = from_vector(std, {static_cast<int64_t>(std.size()), 1, 1}, {.dtype = image.dtype()});
    return div(sub(image, m), s);
}

Tensor resize_points(const Tensor& points, Int2 from, Int2 to) {
    NB_CHECK_VALUE(from.h > 0 && from.w > 0 && to.h > 0 && to.w > 0, "resize_points: sizes must be positive, got ",
                   from, " -> ", to);
    auto c = columns(points, 2, "resize_points", "points");
    const double sx = static_cast<double>(to.w) / from.w, sy = static_cast<double>(to.h) / from.h;
    return stack({mul(c[0], sx), mul(c[1], sy)}, -1);
}

Tensor resize_boxes(const Tensor& boxes, Int2 from, Int2 to) {
    NB_CHECK_VALUE(from.h > 0 && from.w > 0 && to.h > 0 && to.w > 0, "resize_boxes: sizes must be positive, got ", from,
                   " -> ", to);
    auto c = columns(boxes, 4, "resize_boxes", "boxes");
    const double sx = static_cast<double>(to.w) / from.w, sy = static_cast<double>(to.h) / from.h;
    return stack({mul(c[0], sx), mul(c[1], sy), mul(c[2], sx), mul(c[3], sy)}, -1);
}

Tensor crop(const Tensor& image, const CropBox& box, double fill) {
    check_image(image, "crop");
    NB_CHECK_VALUE(box.height > 0 && box.width > 0, "crop: the box must have a positive size, got ", box.height, "x",
                   box.width);
    const int64_t d = image.dim() - 2, H = image.size(d), W = image.size(d + 1);
    Tensor x = image.detach();
    if (box.top >= 0 && box.left >= 0 && box.top + box.height <= H && box.left + box.width <= W)
        return x.narrow(d, box.top, box.height).narrow(d + 1, box.left, box.width);
    Shape shape = image.shape();
    shape[d] = box.height;
    shape[d + 1] = box.width;
    Tensor out = full(shape, fill, {.dtype = image.dtype()});
    const int64_t r0 = std::max<int64_t>(box.top, 0), r1 = std::min(box.top + box.height, H);
    const int64_t c0 = std::max<int64_t>(box.left, 0), c1 = std::min(box.left + box.width, W);
    if (r0 < r1 && c0 < c1)
        out.narrow(d, r0 - box.top, r1 - r0)
            .narrow(d + 1, c0 - box.left, c1 - c0)
            .copy_(x.narrow(d, r0, r1 - r0).narrow(d + 1, c0, c1 - c0));
    return out;
}

CropBox center_crop_box(int64_t height, int64_t width, Int2 size) {
    NB_CHECK_VALUE(size.h > 0 && size.w > 0 && height > 0 && width > 0, "center_crop: sizes must be positive, got ",
                   size, " from an image of ", height, "x", width);
    auto start = [](int64_t in, int64_t out) -> int64_t {
        if (out > in) return -((out - in) / 2);
        return static_cast<int64_t>(std::nearbyint(static_cast<double>(in - out) / 2.0));  // half to even
    };
    return {start(height, size.h), start(width, size.w), size.h, size.w};
}

Tensor center_crop(const Tensor& image, Int2 size) {
    check_image(image, "center_crop");
    return crop(image, center_crop_box(image.size(-2), image.size(-1), size));
}

CropBox random_crop_box(int64_t height, int64_t width, Int2 size, Generator& gen) {
    NB_CHECK_VALUE(size.h > 0 && size.w > 0 && size.h <= height && size.w <= width, "random_crop_box: crop size ", size,
                   " does not fit in an image of ", height, "x", width);
    const int64_t top = gen.randint(0, height - size.h + 1);
    const int64_t left = gen.randint(0, width - size.w + 1);
    return {top, left, size.h, size.w};
}

Tensor crop_points(const Tensor& points, const CropBox& box) {
    auto c = columns(points, 2, "crop_points", "points");
    return stack({sub(c[0], static_cast<double>(box.left)), sub(c[1], static_cast<double>(box.top))}, -1);
}

Tensor crop_boxes(const Tensor& boxes, const CropBox& box) {
    auto c = columns(boxes, 4, "crop_boxes", "boxes");
    const double l = static_cast<double>(box.left), t = static_cast<double>(box.top);
    const double w = static_cast<double>(box.width), h = static_cast<double>(box.height);
    return stack({clamp(sub(c[0], l), 0.0, w), clamp(sub(c[1], t), 0.0, h), clamp(sub(c[2], l), 0.0, w),
                  clamp(sub(c[3], t), 0.0, h)},
                 -1);
}

Tensor hflip(const Tensor& image) {
    check_image(image, "hflip");
    return flip(image.detach(), {image.dim() - 1});
}

Tensor vflip(const Tensor& image) {
    check_image(image, "vflip");
    return flip(image.detach(), {image.dim() - 2});
}

Tensor hflip_points(const Tensor& points, int64_t width, const std::vector<int64_t>& flip_index) {
    auto c = columns(points, 2, "hflip_points", "points");
    return permute_points(stack({static_cast<double>(width) - c[0], c[1]}, -1), flip_index, "hflip_points");
}

Tensor vflip_points(const Tensor& points, int64_t height, const std::vector<int64_t>& flip_index) {
    auto c = columns(points, 2, "vflip_points", "points");
    return permute_points(stack({c[0], static_cast<double>(height) - c[1]}, -1), flip_index, "vflip_points");
}

Tensor hflip_boxes(const Tensor& boxes, int64_t width) {
    auto c = columns(boxes, 4, "hflip_boxes", "boxes");
    const double w = static_cast<double>(width);
    return stack({w - c[2], c[1], w - c[0], c[3]}, -1);
}

Tensor vflip_boxes(const Tensor& boxes, int64_t height) {
    auto c = columns(boxes, 4, "vflip_boxes", "boxes");
    const double h = static_cast<double>(height);
    return stack({c[0], h - c[3], c[2], h - c[1]}, -1);
}

}  // namespace nabla::data
