// nn/data/canvas.h — the pixel-level drawing shared by draw.cpp, font.cpp and plot.cpp (internal to nn/data):
// a float32 [3, H, W] copy of an image with clipped pixel writes, rectangles, antialiased thick lines and the
// built-in 5x7 bitmap font (font.cpp). Coordinates are pixel indices: (x, y) is column x, row y.
#pragma once
#include <string>
#include <string_view>

#include "nn/data/draw.h"

namespace nabla::data {

class Canvas {
public:
    // A float32 contiguous copy of image [3, H, W]; `fn` names the caller in errors.
    Canvas(const Tensor& image, const char* fn);
    Canvas(int64_t height, int64_t width, const Color& background);

    int64_t height() const { return h_; }
    int64_t width() const { return w_; }
    const Tensor& image() const { return image_; }

    void set(int64_t x, int64_t y, const Color& c);                                  // outside the canvas: nothing
    void blend(int64_t x, int64_t y, const Color& c, double alpha);                  // c * alpha + old * (1 - alpha)
    void fill_rect(int64_t x0, int64_t y0, int64_t x1, int64_t y1, const Color& c);  // [x0, x1) x [y0, y1)
    void rect(int64_t x0, int64_t y0, int64_t x1, int64_t y1, const Color& c, int64_t width);  // outline, inward
    // A line of `width` pixels between two points in continuous coordinates, antialiased at its edges.
    void line(double x0, double y0, double x1, double y1, const Color& c, double width);
    // Text with its top-left at (x, y); each glyph is a 5x7 bitmap in a 6x8 cell, scaled by `scale`.
    void text(int64_t x, int64_t y, std::string_view text, const Color& c, int64_t scale);

private:
    Tensor image_;
    float* p_;
    int64_t h_, w_;
};

// One glyph's 5 columns, bit r of column c set when pixel (c, r) is ink (ASCII 32..126; others draw as '?').
const uint8_t* glyph(char ch);

}  // namespace nabla::data
