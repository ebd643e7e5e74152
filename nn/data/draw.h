// nn/data/draw.h — pictures of images and predictions: torchvision.utils.make_grid / save_image, and drawing on float
// [3, H, W] images in [0, 1] (what torchvision.utils.draw_segmentation_masks / draw_keypoints /
// draw_bounding_boxes do on uint8 images, and the labels of ultralytics' Annotator), with a built-in 5x7 bitmap
// font for ASCII 32..126. Line plots of training curves are in nn/data/plot.h.
//   save_image(batch, "samples.png", {.nrow = 4});                 // [N, 3, H, W] -> a 4-wide grid
//   Tensor shown = overlay_mask(image, mask, {1, 0, 0}, 0.5);
//   shown = draw_boxes(shown, boxes, {}, {"person 0.91"}, 2);
// The drawing functions return a new float32 image and leave their input alone. Points and boxes are in
// continuous pixel coordinates (nn/data/transforms.h): point (x, y) lies in pixel (floor(x), floor(y)), and box
// (x1, y1, x2, y2) covers the pixels floor(x1) .. ceil(x2) - 1 and floor(y1) .. ceil(y2) - 1.
#pragma once
#include <array>
#include <optional>
#include <string>
#include <vector>

#include "core/shape.h"
#include "core/tensor.h"

namespace nabla::data {

using Color = std::array<double, 3>;  // r, g, b in [0, 1]

// Colour i of ultralytics' 20-colour palette (cycling), for class i.
Color palette(int64_t i);
// "#ff3838" or "ff3838" -> {1.0, 0.2196, 0.2196}; an Error for anything else.
Color hex_color(const std::string& hex);

struct GridOptions {
    int64_t nrow = 8;  // images per row
    int64_t padding = 2;
    bool normalize = false;                            // shift to [0, 1] by value_range, or by min and max
    std::optional<std::array<double, 2>> value_range;  // (low, high) for normalize
    bool scale_each = false;                           // normalize each image by its own min and max
    double pad_value = 0;
};
// torchvision.utils.make_grid: tensor [N, C, H, W] (or [C, H, W], [H, W]) -> [C', rows (H + p) + p, cols (W + p) + p]
// with cols = min(nrow, N), one-channel images repeated to 3 channels, and a single image returned unpadded.
Tensor make_grid(const Tensor& tensor, const GridOptions& options = {});
Tensor make_grid(const std::vector<Tensor>& images, const GridOptions& options = {});
// torchvision.utils.save_image: make_grid, then to_uint8 and write_png (.png) or write_jpeg (.jpg, .jpeg).
void save_image(const Tensor& tensor, const std::string& path, const GridOptions& options = {});

// image * (1 - alpha m) + color * alpha m per pixel, with m the mask [H, W] or [1, H, W]: bool as 0/1, uint8 as
// m / 255 (a mask read from a PNG), floating clamped to [0, 1].
Tensor overlay_mask(const Tensor& image, const Tensor& mask, const Color& color = {1, 0, 0}, double alpha = 0.5);

// A filled disc of `radius` pixels around each point [K, 2]: the pixels (i, j) with (i - floor(x))^2 +
// (j - floor(y))^2 <= radius^2. Points with NaN coordinates are skipped.
Tensor draw_points(const Tensor& image, const Tensor& points, const Color& color = {0, 1, 0}, int64_t radius = 1);

// Outlines of boxes [n, 4] xyxy, `width` pixels drawn inward. colors: one per box, one for all, or empty for
// palette(i). labels (empty, or one per box): drawn in white (black on light colours) on a box-coloured band
// above the box, or inside its top when there is no room above.
Tensor draw_boxes(const Tensor& image, const Tensor& boxes, const std::vector<Color>& colors = {},
                  const std::vector<std::string>& labels = {}, int64_t width = 1);

// Text with its top-left pixel at (x, y); each character takes 6 x 8 pixels times scale; '\n' starts a new line.
Tensor draw_text(const Tensor& image, int64_t x, int64_t y, const std::string& text, const Color& color = {1, 1, 1},
                 int64_t scale = 1);
// The (h, w) in pixels that draw_text covers.
Int2 text_size(const std::string& text, int64_t scale = 1);

}  // namespace nabla::data
