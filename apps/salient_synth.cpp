// apps/salient_synth.cpp — generate_salient_pairs(): object, hair and sky scenes composited from real photos.
// Images and masks are float buffers [C, S, S] in [0, 1] while they are drawn; masks carry soft (anti-aliased) edges.
#include "apps/salient_synth.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "apps/progress.h"
#include "nn/data/folder.h"
#include "nn/data/image.h"
#include "nn/data/transforms.h"
#include "ops/factory.h"
#include "ops/ops.h"

namespace nabla::apps {
namespace fs = std::filesystem;

namespace {

constexpr double kPi = 3.14159265358979323846;

struct Canvas {  // a float image [channels, size, size], row-major
    int64_t channels, size;
    std::vector<float> v;
    Canvas(int64_t c, int64_t s, float fill = 0) : channels(c), size(s), v(static_cast<size_t>(c * s * s), fill) {}
    float& at(int64_t c, int64_t y, int64_t x) { return v[static_cast<size_t>((c * size + y) * size + x)]; }
    Tensor tensor() const { return from_vector(v, {channels, size, size}); }
};

Canvas to_canvas(const Tensor& t) {  // float [C, S, S]
    Canvas c(t.size(0), t.size(1));
    const Tensor src = t.contiguous();
    std::copy(src.data_ptr<float>(), src.data_ptr<float>() + src.numel(), c.v.begin());
    return c;
}

// A random square crop (half to all of the short side) of `photo`, resized to size x size, maybe mirrored.
Canvas random_view(const Tensor& photo, int64_t size, Generator& g) {
    const int64_t h = photo.size(1), w = photo.size(2), short_side = std::min(h, w);
    const int64_t side = std::max<int64_t>(8, static_cast<int64_t>(short_side * (0.5 + 0.5 * g.uniform())));
    const int64_t top = g.randint(0, h - side + 1), left = g.randint(0, w - side + 1);
    Tensor view = data::resize(data::crop(photo, {top, left, side, side}), {size, size});
    if (g.uniform() < 0.5) view = data::hflip(view);
    return to_canvas(view);
}

// alpha of a smooth random blob: inside where the distance to the centre is below r(θ) = R (1 + Σ a_k cos(kθ + φ_k)).
Canvas blob_alpha(int64_t s, Generator& g) {
    Canvas a(1, s);
    const double cy = s * (0.35 + 0.3 * g.uniform()), cx = s * (0.3 + 0.4 * g.uniform());
    const double radius = s * (0.18 + 0.14 * g.uniform());
    double amp[4], phase[4];
    for (int k = 0; k < 4; ++k) amp[k] = 0.18 * g.uniform() / (1 + 0.5 * k), phase[k] = 2 * kPi * g.uniform();
    for (int64_t y = 0; y < s; ++y)
        for (int64_t x = 0; x < s; ++x) {
            const double dy = y + 0.5 - cy, dx = x + 0.5 - cx, theta = std::atan2(dy, dx);
            double r = 1;
            for (int k = 0; k < 4; ++k) r += amp[k] * std::cos((k + 2) * theta + phase[k]);
            a.at(0, y, x) = static_cast<float>(std::clamp(radius * r - std::hypot(dy, dx) + 0.5, 0.0, 1.0));
        }
    return a;
}

// The silhouette's alpha scaled to 40-80% of the side, mirrored at random, at a random place.
Canvas silhouette_alpha(const Tensor& silhouette, int64_t s, Generator& g) {
    const double scale =
        (0.4 + 0.4 * g.uniform()) * s / static_cast<double>(std::max(silhouette.size(1), silhouette.size(2)));
    const int64_t h = std::max<int64_t>(4, std::lround(silhouette.size(1) * scale));
    const int64_t w = std::max<int64_t>(4, std::lround(silhouette.size(2) * scale));
    Tensor shape = data::resize(silhouette, {h, w});
    if (g.uniform() < 0.5) shape = data::hflip(shape);
    const Tensor src = shape.contiguous();  // [1, h, w]
    const float* p = src.data_ptr<float>();
    Canvas a(1, s);
    const int64_t top = g.randint(0, std::max<int64_t>(1, s - h + 1)),
                  left = g.randint(0, std::max<int64_t>(1, s - w + 1));
    for (int64_t y = 0; y < h && top + y < s; ++y)
        for (int64_t x = 0; x < w && left + x < s; ++x)
            a.at(0, top + y, left + x) = std::clamp(p[y * w + x], 0.0f, 1.0f);
    return a;
}

// Thin soft strands growing upwards from the top edge of the object: drawn into the image and the mask.
void draw_hair(Canvas& image, Canvas& alpha, Generator& g) {
    const int64_t s = alpha.size;
    std::vector<std::pair<int64_t, int64_t>> roots;  // (y, x) where the object starts, scanning down each column
    for (int64_t x = 0; x < s; ++x)
        for (int64_t y = 0; y < s; ++y)
            if (alpha.at(0, y, x) > 0.5f) {
                roots.emplace_back(y, x);
                break;
            }
    if (roots.empty()) return;
    const double shade = g.uniform();
    const float colour[3] = {static_cast<float>(0.15 + 0.7 * shade), static_cast<float>(0.1 + 0.55 * shade),
                             static_cast<float>(0.05 + 0.3 * shade)};
    const int64_t strands = 30 + g.randint(0, 50);
    for (int64_t k = 0; k < strands; ++k) {
        auto [y0, x0] = roots[static_cast<size_t>(g.randint(0, static_cast<int64_t>(roots.size())))];
        double y = y0 + 2, x = x0, angle = -kPi / 2 + 0.9 * (g.uniform() - 0.5), curl = 0.08 * (g.uniform() - 0.5);
        const double length = s * (0.05 + 0.12 * g.uniform()), width = 0.5 + 0.6 * g.uniform();
        const float opacity = static_cast<float>(0.6 + 0.4 * g.uniform());
        for (double t = 0; t < length; t += 0.5) {  // stamp a soft disc every half pixel along a curling path
            y += 0.5 * std::sin(angle), x += 0.5 * std::cos(angle), angle += curl;
            for (int64_t py = static_cast<int64_t>(y) - 2; py <= static_cast<int64_t>(y) + 2; ++py)
                for (int64_t px = static_cast<int64_t>(x) - 2; px <= static_cast<int64_t>(x) + 2; ++px) {
                    if (py < 0 || px < 0 || py >= s || px >= s) continue;
                    const double d = std::hypot(py + 0.5 - y, px + 0.5 - x);
                    const float a = opacity * static_cast<float>(std::clamp(width - d + 0.5, 0.0, 1.0));
                    if (a <= alpha.at(0, py, px)) continue;
                    const float add = (a - alpha.at(0, py, px)) / std::max(1e-6f, 1 - alpha.at(0, py, px));
                    for (int c = 0; c < 3; ++c) image.at(c, py, px) += add * (colour[c] - image.at(c, py, px));
                    alpha.at(0, py, px) = a;
                }
        }
    }
}

// A sky (vertical gradient between two sky colours, with soft clouds) above a smooth horizon over `ground`.
void draw_sky(Canvas& image, Canvas& alpha, Generator& g) {
    const int64_t s = alpha.size;
    const double top_colour[3] = {0.15 + 0.3 * g.uniform(), 0.35 + 0.3 * g.uniform(), 0.7 + 0.3 * g.uniform()};
    const double low_colour[3] = {0.7 + 0.3 * g.uniform(), 0.7 + 0.25 * g.uniform(), 0.65 + 0.35 * g.uniform()};
    const double horizon = s * (0.3 + 0.35 * g.uniform());
    double amp[3], freq[3], phase[3];
    for (int k = 0; k < 3; ++k)
        amp[k] = s * 0.06 * g.uniform(), freq[k] = (k + 1) * (1 + g.uniform()), phase[k] = 2 * kPi * g.uniform();
    double cloud_phase[4];
    for (double& p : cloud_phase) p = 2 * kPi * g.uniform();
    for (int64_t x = 0; x < s; ++x) {
        double h = horizon;
        for (int k = 0; k < 3; ++k) h += amp[k] * std::sin(2 * kPi * freq[k] * x / s + phase[k]);
        for (int64_t y = 0; y < s; ++y) {
            const float a = static_cast<float>(std::clamp(h - (y + 0.5) + 0.5, 0.0, 1.0));
            if (a <= 0) continue;
            const double t = std::clamp(y / std::max(h, 1.0), 0.0, 1.0);
            const double cloud =
                std::max(0.0, std::sin(x * 0.031 + cloud_phase[0]) * std::sin(y * 0.047 + cloud_phase[1]) +
                                  0.5 * std::sin(x * 0.071 + y * 0.023 + cloud_phase[2]) - 0.35);
            for (int c = 0; c < 3; ++c) {
                const double sky = (1 - t) * top_colour[c] + t * low_colour[c];
                const double v = std::min(1.0, sky + 0.8 * cloud * (0.95 - sky));
                image.at(c, y, x) = static_cast<float>(a * v + (1 - a) * image.at(c, y, x));
            }
            alpha.at(0, y, x) = a;
        }
    }
}

}  // namespace

void generate_salient_pairs(const std::string& dir, const SalientSynthOptions& o) {
    std::vector<Tensor> photos;
    Tensor silhouette;
    for (const auto& path : data::list_images(o.photos)) {
        if (fs::path(path).stem() == "horse_silhouette") {
            // A black shape on white (its alpha channel is opaque everywhere): the shape is 1 - brightness.
            silhouette = 1.0 - data::to_tensor(data::read_image(path, data::ImageMode::Gray));
            continue;
        }
        Tensor photo = data::to_tensor(data::read_image(path, data::ImageMode::RGB));
        const double shrink = 1.5 * o.size / static_cast<double>(std::min(photo.size(1), photo.size(2)));
        if (shrink < 1)  // keep crops cheap: about 1.5x the output size on the short side
            photo = data::resize(photo, {std::lround(photo.size(1) * shrink), std::lround(photo.size(2) * shrink)},
                                 data::Interpolation::Bilinear, /*antialias=*/true);
        photos.push_back(photo.contiguous());
    }
    if (photos.size() < 2)
        throw Error(
            fmt::format("generate_salient_pairs: {} has {} readable photos; need at least 2", o.photos, photos.size()));

    Generator g(o.seed);
    ProgressBar bar("generating pairs", o.train + o.val);
    for (int64_t n = 0; n < o.train + o.val; ++n) {
        const fs::path split = fs::path(dir) / (n < o.train ? "train" : "val");
        fs::create_directories(split / "images");
        fs::create_directories(split / "masks");
        const size_t bg = static_cast<size_t>(g.randint(0, static_cast<int64_t>(photos.size())));
        Canvas image = random_view(photos[bg], o.size, g);
        Canvas alpha(1, o.size);
        if (g.uniform() < 0.25) {
            draw_sky(image, alpha, g);
        } else {
            size_t fg = static_cast<size_t>(g.randint(0, static_cast<int64_t>(photos.size()) - 1));
            if (fg >= bg) ++fg;  // another photo than the background
            const Canvas object = random_view(photos[fg], o.size, g);
            alpha = silhouette.defined() && g.uniform() < 0.3 ? silhouette_alpha(silhouette, o.size, g)
                                                              : blob_alpha(o.size, g);
            for (int64_t c = 0; c < 3; ++c)
                for (int64_t y = 0; y < o.size; ++y)
                    for (int64_t x = 0; x < o.size; ++x) {
                        const float a = alpha.at(0, y, x);
                        image.at(c, y, x) = a * object.v[static_cast<size_t>((c * o.size + y) * o.size + x)] +
                                            (1 - a) * image.at(c, y, x);
                    }
            if (g.uniform() < 0.4) draw_hair(image, alpha, g);
        }
        const std::string stem = fmt::format("synth_{:05}", n);
        data::write_jpeg((split / "images" / (stem + ".jpg")).string(), data::to_uint8(image.tensor()), 92);
        data::write_png((split / "masks" / (stem + ".png")).string(), data::to_uint8(alpha.tensor()));
        bar.update();
    }
    bar.close();
}

}  // namespace nabla::apps
