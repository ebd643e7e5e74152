// nn/data/color.cpp — RGB <-> HSV per pixel with torchvision's formulas, and the ultralytics HSV gains (color.h).
#include "nn/data/color.h"

#include <algorithm>
#include <cmath>

#include "ops/factory.h"

namespace nabla::data {
namespace {

// x: [P, 3, H*W] planes of 3 channels; f maps one pixel's 3 values in place.
template <class F>
Tensor map_pixels(const Tensor& image, const char* fn, F f) {
    NB_CHECK(image.defined() && image.dim() >= 3 && image.size(-3) == 3, fn, ": expected an image [..., 3, H, W], got ",
             image.defined() ? shape_str(image.shape()) : "undefined");
    Tensor y = image.detach().to(kCPU).clone();  // contiguous
    const int64_t hw = image.size(-1) * image.size(-2), groups = hw > 0 ? image.numel() / (3 * hw) : 0;
    dispatch_floating(image.dtype(), fn, [&]<class T>() {
        T* p = y.data_ptr<T>();
        for (int64_t g = 0; g < groups; ++g, p += 3 * hw)
            for (int64_t i = 0; i < hw; ++i) {
                double v[3] = {static_cast<double>(p[i]), static_cast<double>(p[hw + i]),
                               static_cast<double>(p[2 * hw + i])};
                f(v);
                p[i] = static_cast<T>(v[0]);
                p[hw + i] = static_cast<T>(v[1]);
                p[2 * hw + i] = static_cast<T>(v[2]);
            }
    });
    return y;
}

void rgb_to_hsv_pixel(double* v) {
    const double r = v[0], g = v[1], b = v[2];
    const double maxc = std::max({r, g, b}), minc = std::min({r, g, b}), cr = maxc - minc;
    const bool eq = maxc == minc;
    const double s = cr / (eq ? 1.0 : maxc), div = eq ? 1.0 : cr;
    const double rc = (maxc - r) / div, gc = (maxc - g) / div, bc = (maxc - b) / div;
    double h;
    if (maxc == r)
        h = bc - gc;
    else if (maxc == g)
        h = 2.0 + rc - bc;
    else
        h = 4.0 + gc - rc;
    v[0] = std::fmod(h / 6.0 + 1.0, 1.0);
    v[1] = s;
    v[2] = maxc;
}

void hsv_to_rgb_pixel(double* v) {
    const double h = v[0], s = v[1], val = v[2];
    const double i = std::floor(h * 6.0), f = h * 6.0 - i;
    const double p = std::clamp(val * (1.0 - s), 0.0, 1.0);
    const double q = std::clamp(val * (1.0 - s * f), 0.0, 1.0);
    const double t = std::clamp(val * (1.0 - s * (1.0 - f)), 0.0, 1.0);
    const int64_t sector = ((static_cast<int64_t>(i) % 6) + 6) % 6;
    const double table[6][3] = {{val, t, p}, {q, val, p}, {p, val, t}, {p, q, val}, {t, p, val}, {val, p, q}};
    v[0] = table[sector][0];
    v[1] = table[sector][1];
    v[2] = table[sector][2];
}

}  // namespace

Tensor rgb_to_hsv(const Tensor& image) { return map_pixels(image, "rgb_to_hsv", rgb_to_hsv_pixel); }

Tensor hsv_to_rgb(const Tensor& image) { return map_pixels(image, "hsv_to_rgb", hsv_to_rgb_pixel); }

Tensor adjust_hsv(const Tensor& image, const std::array<double, 3>& gains) {
    NB_CHECK_VALUE(gains[0] >= 0 && gains[1] >= 0 && gains[2] >= 0, "adjust_hsv: gains must be non-negative, got (",
                   gains[0], ", ", gains[1], ", ", gains[2], ")");
    return map_pixels(image, "adjust_hsv", [&](double* v) {
        rgb_to_hsv_pixel(v);
        v[0] = std::fmod(v[0] * gains[0], 1.0);
        v[1] = std::clamp(v[1] * gains[1], 0.0, 1.0);
        v[2] = std::clamp(v[2] * gains[2], 0.0, 1.0);
        hsv_to_rgb_pixel(v);
    });
}

std::array<double, 3> random_hsv_gains(const HsvGains& g, Generator& gen) {
    std::array<double, 3> r{};
    const double gain[3] = {g.hgain, g.sgain, g.vgain};
    for (int k = 0; k < 3; ++k) {
        NB_CHECK_VALUE(gain[k] >= 0 && gain[k] <= 1, "hsv_jitter: gains must be in [0, 1], got (", g.hgain, ", ",
                       g.sgain, ", ", g.vgain, ")");
        r[k] = (gen.uniform() * 2.0 - 1.0) * gain[k] + 1.0;
    }
    return r;
}

Tensor hsv_jitter(const Tensor& image, Generator& gen, const HsvGains& gains) {
    return adjust_hsv(image, random_hsv_gains(gains, gen));
}

}  // namespace nabla::data
