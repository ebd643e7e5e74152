// apps/detection_augment.h — the image and box geometry of YOLOv5 v6.0's training data, with ultralytics' names:
// label format conversions, the mosaic's tile layout, random_perspective and its box filter (box_candidates), the
// HSV gains and flips, and scale_coords. docs/yolo_data.md describes each step and its hyp.scratch default (§3-§5)
// and scale_coords (§7).
//
// Images are float32 [3, H, W] RGB in [0, 1] (ultralytics: uint8 BGR; the grey fill 114 is 114/255 here). Box
// coordinates are continuous pixel coordinates (nn/data/transforms.h): the image spans [0, W] x [0, H], so a label
// (cx, cy, w, h) normalised to the image maps to pixels by multiplying by W and H, as ultralytics' xywhn2xyxy.
// Every random number comes from the Generator passed in (docs/yolo_data.md §6: the draw order).
//   Perspective p = random_perspective_params(2 * s, 2 * s, {-s / 2, -s / 2}, hyp, gen);   // after a mosaic
//   Augmented out = apply_perspective(canvas, labels_xyxy, p);                             // [3, s, s]
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "core/generator.h"
#include "core/shape.h"
#include "core/tensor.h"

namespace nabla::apps {

// One box label as ultralytics' label arrays hold it (a row of [n, 5]): the class, then either the corners
// (x1, y1, x2, y2) in pixels or the normalised centre and size (cx, cy, w, h), depending on the stage.
using BoxLabel = std::array<double, 5>;
using BoxLabels = std::vector<BoxLabel>;

// The data-pipeline part of YOLOv5 v6.0's hyp.scratch, with its defaults (docs/yolo_data.md §3). mixup and copy_paste
// (0 in hyp.scratch) are not implemented.
struct AugmentHyp {
    double hsv_h = 0.015;      // hue gain: the hue is multiplied by 1 + U(-1, 1) * hsv_h
    double hsv_s = 0.7;        // saturation gain
    double hsv_v = 0.4;        // value gain
    double degrees = 0.0;      // rotation, +/- degrees
    double translate = 0.1;    // translation, +/- fraction of the output size
    double scale = 0.5;        // scale factor drawn from [1 - scale, 1 + scale]
    double shear = 0.0;        // shear, +/- degrees
    double perspective = 0.0;  // perspective, +/- (0 to 0.001 is sensible)
    double flipud = 0.0;       // probability of an up-down flip
    double fliplr = 0.5;       // probability of a left-right flip
    double mosaic = 1.0;       // probability of a 4-image mosaic (training only)
};

// --- label formats ---
// ultralytics' xywhn2xyxy: normalised (cx, cy, w, h) of an image w x h pixels whose top-left corner lies at
// (padw, padh) -> pixel corners (x1, y1, x2, y2).
BoxLabels xywhn2xyxy(const BoxLabels& labels, double w, double h, double padw = 0, double padh = 0);
// ultralytics' xyxy2xywhn: with clip the corners are first clamped to [0, w - eps] x [0, h - eps] (its clip_coords on
// (h - eps, w - eps)), then turned into a normalised centre and size.
BoxLabels xyxy2xywhn(const BoxLabels& labels, double w, double h, bool clip = true, double eps = 1e-3);
// labels (n rows of class, cx, cy, w, h) -> float32 [n, 6] with a zero first column (the image index the collate
// writes), as ultralytics' labels_out.
Tensor labels_to_tensor(const BoxLabels& labels);

// --- mosaic (load_mosaic) ---
// Where tile `quadrant` (0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right) of an image h x w goes on the
// 2s x 2s canvas around the centre (xc, yc): canvas window a = [x1a, x2a) x [y1a, y2a) receives the image's window
// b = [x1b, x2b) x [y1b, y2b); both have the same size. Each tile touches the centre and is clipped by the canvas.
struct MosaicTile {
    int64_t x1a = 0, y1a = 0, x2a = 0, y2a = 0;  // on the canvas
    int64_t x1b = 0, y1b = 0, x2b = 0, y2b = 0;  // in the image
    int64_t padw() const { return x1a - x1b; }   // where the image's (0, 0) lands on the canvas
    int64_t padh() const { return y1a - y1b; }
};
MosaicTile mosaic_tile(int quadrant, int64_t xc, int64_t yc, int64_t h, int64_t w, int64_t s);
// Copies window b of image [3, h, w] into window a of canvas [3, 2s, 2s] (both float32, contiguous; canvas in place).
void paste_tile(Tensor& canvas, const Tensor& image, const MosaicTile& tile);

// --- random_perspective ---
using Matrix3 = std::array<double, 9>;  // row-major 3 x 3, acting on (x, y, 1)

struct Perspective {
    Matrix3 matrix{1, 0, 0, 0, 1, 0, 0, 0, 1};  // M = T S R P C: input pixels -> output pixels
    double scale = 1;                           // the drawn scale s (box_candidates compares areas after * s)
    int64_t height = 0, width = 0;              // the output size: the input's plus twice the (negative) border
    bool perspective = false;                   // M's last row is not (0, 0, 1): divide by w
};
// The draws of random_perspective for an input of height x width and a border (h, w) added on each side (negative:
// crop; the mosaic uses (-s/2, -s/2)), in ultralytics' order: perspective x, y; angle; scale; shear x, y;
// translation x, y. C moves the input's centre to the origin, P is the perspective, R the rotation (counter-clockwise
// on screen for a positive angle, as cv2.getRotationMatrix2D) with the scale, S the shear, and T moves the origin to
// (0.5 + U(-t, t)) of the output size.
Perspective random_perspective_params(int64_t height, int64_t width, Int2 border, const AugmentHyp& hyp,
                                      Generator& gen);
// The matrix of C, then the given scale and translation only (degrees, shear and perspective 0), for tests and
// pictures: x -> (x - width / 2) * scale + tx.
Perspective scale_translate(int64_t height, int64_t width, Int2 border, double scale, double tx, double ty);

// Warps image [3, H, W] by the forward matrix m into [3, out_h, out_w]: each output pixel centre maps back through
// m's inverse and is sampled bilinearly, taps outside the input reading `fill` (cv2.warpAffine / warpPerspective
// with INTER_LINEAR and a constant border of 114).
Tensor warp_perspective(const Tensor& image, const Matrix3& m, int64_t out_h, int64_t out_w,
                        double fill = 114.0 / 255.0);
// Box corners (class, x1, y1, x2, y2) through m: the bounds of the four transformed corners, clipped to
// [0, width] x [0, height]. Rows stay in order; nothing is dropped.
BoxLabels transform_boxes(const BoxLabels& labels, const Perspective& p);
// ultralytics' box_candidates: keep a box whose new width and height exceed wh_thr pixels, whose area is more than
// area_thr of its area before (box1, already multiplied by the scale), and whose aspect ratio is below ar_thr.
std::vector<bool> box_candidates(const BoxLabels& before, const BoxLabels& after, double wh_thr = 2, double ar_thr = 20,
                                 double area_thr = 0.1, double eps = 1e-16);

struct Augmented {
    Tensor image;      // [3, H, W]
    BoxLabels labels;  // (class, x1, y1, x2, y2) in pixels of `image`
};
// The image warped (skipped when M is the identity and there is no border, as ultralytics), and the boxes moved,
// clipped and filtered by box_candidates.
Augmented apply_perspective(const Tensor& image, const BoxLabels& labels, const Perspective& p);
Augmented random_perspective(const Tensor& image, const BoxLabels& labels, const AugmentHyp& hyp, Int2 border,
                             Generator& gen);

// --- colour and flips ---
// augment_hsv: gains 1 + U(-1, 1) * (hsv_h, hsv_s, hsv_v) drawn in that order (none drawn when all three are 0), hue
// multiplied modulo one turn, saturation and value multiplied and clipped (nn/data/color.h's adjust_hsv).
Tensor augment_hsv(const Tensor& image, const AugmentHyp& hyp, Generator& gen);
// Normalised labels (class, cx, cy, w, h) after np.fliplr / np.flipud of the image: cx -> 1 - cx, cy -> 1 - cy.
void fliplr_labels(BoxLabels& labels);
void flipud_labels(BoxLabels& labels);

// --- back to the original image ---
// What a letterboxed example carries (ultralytics' `shapes`): the original size, the scale from the original to the
// network input per axis, and the padding added on the left and top (possibly a half pixel).
struct LetterboxShape {
    int64_t height0 = 0, width0 = 0;
    double ratio_h = 1, ratio_w = 1;
    double pad_w = 0, pad_h = 0;
    Tensor to_tensor() const;                              // float64 [6]: h0, w0, ratio_h, ratio_w, pad_w, pad_h
    static LetterboxShape from_tensor(const Tensor& row);  // the inverse; a ShapeError for anything but [6]
};
// scale_coords: boxes [n, k >= 4] whose first four columns are xyxy in network-input pixels -> the same in pixels of
// the original image: minus the padding, divided by the ratio, clipped to [0, w0] x [0, h0]. Other columns (score,
// class) are copied. Returns a new tensor in the boxes' dtype.
Tensor scale_coords(const Tensor& boxes, const LetterboxShape& shape);

}  // namespace nabla::apps
