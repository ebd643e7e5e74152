// nn/data/letterbox.h — ultralytics' letterbox (YOLOv5 utils/augmentations.py): resize keeping the aspect ratio to
// fit new_shape, then pad with grey 114/255 on both sides, either to the full new_shape or (auto_pad) only up to the
// next multiple of stride.
//   auto lb = letterbox(image, {.new_shape = 640, .auto_pad = false});   // 480x640 image -> [3, 640, 640]
//   boxes = letterbox_boxes(boxes, lb);                                  // x * ratio_w + left, y * ratio_h + top
// The numbers are ultralytics': r = min(new_h / h, new_w / w) (at most 1 without scaleup), the resized size
// round(w r) x round(h r) (half to even, as Python), the padding per side dw, dh = half the remainder, and the
// border top = round(dh - 0.1), bottom = round(dh + 0.1), and the same for left/right.
#pragma once
#include "nn/data/functional.h"

namespace nabla::data {

struct LetterboxOptions {
    Int2 new_shape = 640;     // (h, w)
    bool auto_pad = true;     // ultralytics' `auto`: pad only to a multiple of stride (a minimum rectangle)
    bool scale_fill = false;  // stretch to new_shape exactly, no padding (ultralytics' scaleFill)
    bool scaleup = true;      // false: only shrink (better validation mAP, as ultralytics says)
    int64_t stride = 32;
    double fill = 114.0 / 255.0;
    Interpolation mode = Interpolation::Bilinear;  // cv2.INTER_LINEAR
};

struct Letterbox {
    Tensor image;                     // [C, out_h, out_w]
    double ratio_w = 1, ratio_h = 1;  // ultralytics' `ratio`: scale factors of x and y
    double pad_w = 0, pad_h = 0;      // ultralytics' `(dw, dh)`: padding per side, possibly a half
    int64_t top = 0, left = 0;        // where the resized image starts in the output
};

// image: float [C, H, W] (or a mask of any dtype [..., H, W], with mode Nearest and the fill you want).
Letterbox letterbox(const Tensor& image, const LetterboxOptions& options = {});
// Points [..., 2] / boxes [..., 4] of the input image mapped into the letterboxed one (by ratio and top/left).
Tensor letterbox_points(const Tensor& points, const Letterbox& lb);
Tensor letterbox_boxes(const Tensor& boxes, const Letterbox& lb);

}  // namespace nabla::data
