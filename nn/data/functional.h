// nn/data/functional.h — the basic transforms of torchvision.transforms.functional: to_tensor, normalize, resize,
// crops and flips, with the matching maps of points and boxes. Conventions (shapes, coordinates, random parameters)
// are in nn/data/transforms.h, which includes this file with the others.
#pragma once
#include <vector>

#include "core/generator.h"
#include "core/shape.h"
#include "core/tensor.h"

namespace nabla::data {

enum class Interpolation { Nearest, Bilinear, Bicubic };  // torchvision.transforms.InterpolationMode

// torchvision.transforms.functional.to_tensor: uint8 [C, H, W] (as read_image gives), [H, W, C] with channels_last
// (numpy / OpenCV layout), or [H, W] -> float32 [C, H, W] in [0, 1].
Tensor to_tensor(const Tensor& image, bool channels_last = false);

// F.normalize: (x - mean[c]) / std[c] on float [C, H, W] or [N, C, H, W]; mean and std have C entries (or 1).
Tensor normalize(const Tensor& image, const std::vector<double>& mean, const std::vector<double>& std);

// F.resize to exactly size (h, w) on [..., H, W]; align_corners=False. antialias (bilinear, bicubic) filters
// when downscaling as PIL and torch's interpolate(antialias=True) do (bicubic then uses a = -0.5). Integer and
// bool tensors (masks) take Nearest only.
Tensor resize(const Tensor& image, Int2 size, Interpolation mode = Interpolation::Bilinear, bool antialias = false);
// Points [..., 2] or boxes [..., 4] after resizing an image of `from` (h, w) to `to`:
// x * to.w / from.w, y * to.h / from.h.
Tensor resize_points(const Tensor& points, Int2 from, Int2 to);
Tensor resize_boxes(const Tensor& boxes, Int2 from, Int2 to);

// A crop window in pixels; it may reach outside the image, where crop() fills with `fill`.
struct CropBox {
    int64_t top = 0, left = 0, height = 0, width = 0;
    bool operator==(const CropBox&) const = default;
};
// x[..., top:top+height, left:left+width] of [..., H, W], any dtype (a view when the box is inside the image).
Tensor crop(const Tensor& image, const CropBox& box, double fill = 0.0);
// F.center_crop's window: top = round((H - h) / 2) (half to even, as Python), or -((h - H) // 2) when h > H (the
// zero padding torchvision adds first); the same for left.
CropBox center_crop_box(int64_t height, int64_t width, Int2 size);
Tensor center_crop(const Tensor& image, Int2 size);
// T.RandomCrop.get_params: top uniform in [0, H - h], left in [0, W - w]; size must fit in the image.
CropBox random_crop_box(int64_t height, int64_t width, Int2 size, Generator& gen);
Tensor crop_points(const Tensor& points, const CropBox& box);  // (x - left, y - top)
Tensor crop_boxes(const Tensor& boxes, const CropBox& box);    // shifted, then clipped to [0, width] x [0, height]

// F.hflip / F.vflip of [..., H, W].
Tensor hflip(const Tensor& image);
Tensor vflip(const Tensor& image);
// Points [..., K, 2] after hflip of an image `width` wide: x -> width - x. A flip turns left landmarks into right
// ones: with flip_index (K entries, a permutation, e.g. the 98-point WFLW mirror table) point k of the result is
// point flip_index[k] of the input, as PFLD's `landmark[mirror_idx]`.
Tensor hflip_points(const Tensor& points, int64_t width, const std::vector<int64_t>& flip_index = {});
Tensor vflip_points(const Tensor& points, int64_t height, const std::vector<int64_t>& flip_index = {});
Tensor hflip_boxes(const Tensor& boxes, int64_t width);   // (W - x2, y1, W - x1, y2)
Tensor vflip_boxes(const Tensor& boxes, int64_t height);  // (x1, H - y2, x2, H - y1)

}  // namespace nabla::data
