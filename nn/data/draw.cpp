// nn/data/draw.cpp — make_grid / save_image (torchvision.utils, line by line), the drawing functions of draw.h and
// the Canvas they share with plot.cpp (canvas.h).
#include "nn/data/draw.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "nn/data/canvas.h"
#include "nn/data/image.h"
#include "ops/elementwise.h"
#include "ops/factory.h"
#include "ops/indexing.h"
#include "ops/reduce.h"

namespace nabla::data {

// --- Canvas ---

Canvas::Canvas(const Tensor& image, const char* fn) {
    NB_CHECK(image.defined() && image.dim() == 3 && image.size(0) == 3, fn, ": expected an RGB image [3, H, W], got ",
             image.defined() ? shape_str(image.shape()) : "undefined");
    if (!is_floating(image.dtype()))
        throw TypeError(detail::concat(fn, ": expected a floating image in [0, 1], got ", dtype_name(image.dtype()),
                                       " (convert with to_float)"));
    image_ = image.detach().to(kCPU).to(kFloat32).clone();
    p_ = image_.data_ptr<float>();
    h_ = image.size(1);
    w_ = image.size(2);
}

Canvas::Canvas(int64_t height, int64_t width, const Color& background) : h_(height), w_(width) {
    image_ = empty({3, height, width});
    p_ = image_.data_ptr<float>();
    fill_rect(0, 0, width, height, background);
}

void Canvas::set(int64_t x, int64_t y, const Color& c) {
    if (x < 0 || y < 0 || x >= w_ || y >= h_) return;
    for (int64_t k = 0; k < 3; ++k) p_[(k * h_ + y) * w_ + x] = static_cast<float>(c[k]);
}

void Canvas::blend(int64_t x, int64_t y, const Color& c, double alpha) {
    if (x < 0 || y < 0 || x >= w_ || y >= h_) return;
    for (int64_t k = 0; k < 3; ++k) {
        float& v = p_[(k * h_ + y) * w_ + x];
        v = static_cast<float>(c[k] * alpha + v * (1.0 - alpha));
    }
}

void Canvas::fill_rect(int64_t x0, int64_t y0, int64_t x1, int64_t y1, const Color& c) {
    x0 = std::max<int64_t>(x0, 0), y0 = std::max<int64_t>(y0, 0), x1 = std::min(x1, w_), y1 = std::min(y1, h_);
    for (int64_t y = y0; y < y1; ++y)
        for (int64_t x = x0; x < x1; ++x) set(x, y, c);
}

void Canvas::rect(int64_t x0, int64_t y0, int64_t x1, int64_t y1, const Color& c, int64_t width) {
    // [x0, x1] x [y0, y1] inclusive; the band is `width` pixels inside it
    const int64_t t = std::max<int64_t>(width, 1);
    fill_rect(x0, y0, x1 + 1, std::min(y0 + t, y1 + 1), c);
    fill_rect(x0, std::max(y1 + 1 - t, y0), x1 + 1, y1 + 1, c);
    fill_rect(x0, y0, std::min(x0 + t, x1 + 1), y1 + 1, c);
    fill_rect(std::max(x1 + 1 - t, x0), y0, x1 + 1, y1 + 1, c);
}

void Canvas::line(double x0, double y0, double x1, double y1, const Color& c, double width) {
    // Coverage of each pixel centre by the segment thickened to `width`, with a one-pixel soft edge.
    const double r = width / 2.0, dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy;
    const int64_t xa = static_cast<int64_t>(std::floor(std::min(x0, x1) - r - 1));
    const int64_t xb = static_cast<int64_t>(std::ceil(std::max(x0, x1) + r + 1));
    const int64_t ya = static_cast<int64_t>(std::floor(std::min(y0, y1) - r - 1));
    const int64_t yb = static_cast<int64_t>(std::ceil(std::max(y0, y1) + r + 1));
    for (int64_t y = std::max<int64_t>(ya, 0); y <= std::min(yb, h_ - 1); ++y)
        for (int64_t x = std::max<int64_t>(xa, 0); x <= std::min(xb, w_ - 1); ++x) {
            const double px = static_cast<double>(x) + 0.5, py = static_cast<double>(y) + 0.5;
            const double t = len2 > 0 ? std::clamp(((px - x0) * dx + (py - y0) * dy) / len2, 0.0, 1.0) : 0.0;
            const double ex = px - (x0 + t * dx), ey = py - (y0 + t * dy);
            const double coverage = std::clamp(r + 0.5 - std::sqrt(ex * ex + ey * ey), 0.0, 1.0);
            if (coverage >= 1.0)
                set(x, y, c);
            else if (coverage > 0.0)
                blend(x, y, c, coverage);
        }
}

// --- colours ---

Color hex_color(const std::string& hex) {
    const std::string h = !hex.empty() && hex[0] == '#' ? hex.substr(1) : hex;
    NB_CHECK_VALUE(h.size() == 6 && std::all_of(h.begin(), h.end(), [](unsigned char ch) { return std::isxdigit(ch); }),
                   "hex_color: expected \"#rrggbb\", got \"", hex, "\"");
    const unsigned long v = std::stoul(h, nullptr, 16);
    return {((v >> 16) & 0xff) / 255.0, ((v >> 8) & 0xff) / 255.0, (v & 0xff) / 255.0};
}

Color palette(int64_t i) {
    static const char* const kHex[20] = {"FF3838", "FF9D97", "FF701F", "FFB21D", "CFD231", "48F90A", "92CC17",
                                         "3DDB86", "1A9334", "00D4BB", "2C99A8", "00C2FF", "344593", "6473FF",
                                         "0018EC", "8438FF", "520085", "CB38FF", "FF95C8", "FF37C7"};
    return hex_color(kHex[((i % 20) + 20) % 20]);
}

// --- make_grid, save_image ---

Tensor make_grid(const Tensor& tensor_in, const GridOptions& o) {
    NB_CHECK(tensor_in.defined() && tensor_in.dim() >= 2 && tensor_in.dim() <= 4,
             "make_grid: expected [N, C, H, W], [C, H, W] or [H, W], got ",
             tensor_in.defined() ? shape_str(tensor_in.shape()) : "undefined");
    NB_CHECK_VALUE(o.nrow >= 1 && o.padding >= 0,
                   "make_grid: nrow must be positive and padding non-negative, got nrow=", o.nrow,
                   " padding=", o.padding);
    Tensor t = tensor_in.detach();
    if (!is_floating(t.dtype())) t = t.to(kFloat32);
    if (t.dim() == 2) t = t.unsqueeze(0);
    if (t.dim() == 3) {
        if (t.size(0) == 1) t = cat({t, t, t}, 0);
        t = t.unsqueeze(0);
    }
    if (t.size(1) == 1) t = cat({t, t, t}, 1);
    if (o.normalize) {
        auto norm_range = [&](const Tensor& x) {  // clamp to (low, high), then map to [0, 1]
            const double low = o.value_range ? (*o.value_range)[0] : min(x).item<double>();
            const double high = o.value_range ? (*o.value_range)[1] : max(x).item<double>();
            return div(sub(clamp(x, low, high), low), std::max(high - low, 1e-5));
        };
        if (o.scale_each) {
            std::vector<Tensor> each;
            for (int64_t i = 0; i < t.size(0); ++i) each.push_back(norm_range(t.select(0, i)));
            t = stack(each, 0);
        } else {
            t = norm_range(t);
        }
    }
    if (t.size(0) == 1) return t.squeeze(0).contiguous();
    const int64_t n = t.size(0), c = t.size(1), p = o.padding;
    const int64_t xmaps = std::min(o.nrow, n), ymaps = (n + xmaps - 1) / xmaps;
    const int64_t height = t.size(2) + p, width = t.size(3) + p;
    Tensor grid = full({c, height * ymaps + p, width * xmaps + p}, o.pad_value, {.dtype = t.dtype()});
    for (int64_t k = 0; k < n; ++k) {
        const int64_t y = k / xmaps, x = k % xmaps;
        grid.narrow(1, y * height + p, height - p).narrow(2, x * width + p, width - p).copy_(t.select(0, k));
    }
    return grid;
}

Tensor make_grid(const std::vector<Tensor>& images, const GridOptions& options) {
    NB_CHECK_VALUE(!images.empty(), "make_grid: no images");
    return make_grid(stack(images, 0), options);
}

void save_image(const Tensor& tensor, const std::string& path, const GridOptions& options) {
    std::string ext = path.substr(std::min(path.size(), path.find_last_of('.')));
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) { return std::tolower(ch); });
    NB_CHECK_VALUE(ext == ".png" || ext == ".jpg" || ext == ".jpeg", "save_image: ", path,
                   ": unknown extension (expected .png, .jpg or .jpeg)");
    Tensor image = to_uint8(make_grid(tensor, options));
    if (ext == ".png")
        write_png(path, image);
    else
        write_jpeg(path, image);
}

// --- drawing ---

Tensor overlay_mask(const Tensor& image, const Tensor& mask, const Color& color, double alpha) {
    Canvas canvas(image, "overlay_mask");
    NB_CHECK(mask.defined() && (mask.dim() == 2 || (mask.dim() == 3 && mask.size(0) == 1)) &&
                 mask.size(-2) == canvas.height() && mask.size(-1) == canvas.width(),
             "overlay_mask: expected a mask [H, W] or [1, H, W] for image ", image.shape(), ", got ",
             mask.defined() ? shape_str(mask.shape()) : "undefined");
    NB_CHECK_VALUE(alpha >= 0 && alpha <= 1, "overlay_mask: alpha must be in [0, 1], got ", alpha);
    Tensor m = mask.detach().to(kCPU);
    if (m.dtype() == kUInt8)
        m = div(m.to(kFloat64), 255.0);
    else
        m = clamp(m.to(kFloat64), 0.0, 1.0);
    m = m.reshape({canvas.height(), canvas.width()}).contiguous();
    const double* pm = m.data_ptr<double>();
    for (int64_t y = 0; y < canvas.height(); ++y)
        for (int64_t x = 0; x < canvas.width(); ++x) {
            const double a = alpha * pm[y * canvas.width() + x];
            if (a > 0) canvas.blend(x, y, color, a);
        }
    return canvas.image();
}

Tensor draw_points(const Tensor& image, const Tensor& points, const Color& color, int64_t radius) {
    Canvas canvas(image, "draw_points");
    NB_CHECK(points.defined() && points.dim() == 2 && points.size(1) == 2, "draw_points: expected points [K, 2], got ",
             points.defined() ? shape_str(points.shape()) : "undefined");
    NB_CHECK_VALUE(radius >= 0, "draw_points: radius must be non-negative, got ", radius);
    Tensor pts = points.detach().to(kCPU).to(kFloat64).contiguous();
    const double* p = pts.data_ptr<double>();
    for (int64_t k = 0; k < pts.size(0); ++k) {
        if (!std::isfinite(p[2 * k]) || !std::isfinite(p[2 * k + 1])) continue;
        const int64_t cx = static_cast<int64_t>(std::floor(p[2 * k])),
                      cy = static_cast<int64_t>(std::floor(p[2 * k + 1]));
        for (int64_t dy = -radius; dy <= radius; ++dy)
            for (int64_t dx = -radius; dx <= radius; ++dx)
                if (dx * dx + dy * dy <= radius * radius) canvas.set(cx + dx, cy + dy, color);
    }
    return canvas.image();
}

Tensor draw_boxes(const Tensor& image, const Tensor& boxes, const std::vector<Color>& colors,
                  const std::vector<std::string>& labels, int64_t width) {
    Canvas canvas(image, "draw_boxes");
    NB_CHECK(boxes.defined() && boxes.dim() == 2 && boxes.size(1) == 4, "draw_boxes: expected boxes [n, 4], got ",
             boxes.defined() ? shape_str(boxes.shape()) : "undefined");
    const int64_t n = boxes.size(0);
    NB_CHECK_VALUE(colors.size() <= 1 || static_cast<int64_t>(colors.size()) == n, "draw_boxes: ", colors.size(),
                   " colors for ", n, " boxes (give none, one, or one per box)");
    NB_CHECK_VALUE(labels.empty() || static_cast<int64_t>(labels.size()) == n, "draw_boxes: ", labels.size(),
                   " labels for ", n, " boxes");
    NB_CHECK_VALUE(width >= 1, "draw_boxes: width must be at least 1, got ", width);
    Tensor b = boxes.detach().to(kCPU).to(kFloat64).contiguous();
    const double* p = b.data_ptr<double>();
    for (int64_t i = 0; i < n; ++i) {
        const double* q = p + 4 * i;
        if (!(std::isfinite(q[0]) && std::isfinite(q[1]) && std::isfinite(q[2]) && std::isfinite(q[3]))) continue;
        const Color c = colors.empty() ? palette(i) : colors.size() == 1 ? colors[0] : colors[static_cast<size_t>(i)];
        const int64_t x0 = static_cast<int64_t>(std::floor(q[0])), y0 = static_cast<int64_t>(std::floor(q[1]));
        const int64_t x1 = static_cast<int64_t>(std::ceil(q[2])) - 1, y1 = static_cast<int64_t>(std::ceil(q[3])) - 1;
        if (x1 < x0 || y1 < y0) continue;
        canvas.rect(x0, y0, x1, y1, c, width);
        if (labels.empty() || labels[static_cast<size_t>(i)].empty()) continue;
        const std::string& label = labels[static_cast<size_t>(i)];
        const Int2 size = text_size(label);
        const int64_t band_h = size.h + 2, top = y0 - band_h >= 0 ? y0 - band_h : y0;
        canvas.fill_rect(x0, top, x0 + size.w + 2, top + band_h, c);
        const double luminance = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
        canvas.text(x0 + 1, top + 1, label, luminance > 0.6 ? Color{0, 0, 0} : Color{1, 1, 1}, 1);
    }
    return canvas.image();
}

Int2 text_size(const std::string& text, int64_t scale) {
    int64_t lines = 1, longest = 0, current = 0;
    for (char ch : text) {
        if (ch == '\n') {
            ++lines;
            current = 0;
        } else {
            longest = std::max(longest, ++current);
        }
    }
    return {lines * 8 * scale, longest * 6 * scale};
}

Tensor draw_text(const Tensor& image, int64_t x, int64_t y, const std::string& text, const Color& color,
                 int64_t scale) {
    Canvas canvas(image, "draw_text");
    NB_CHECK_VALUE(scale >= 1, "draw_text: scale must be at least 1, got ", scale);
    canvas.text(x, y, text, color, scale);
    return canvas.image();
}

}  // namespace nabla::data
