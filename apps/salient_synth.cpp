// apps/salient_synth.cpp — generate_salient_pairs(): object, hair and sky scenes composited from real photos.
// Images and masks are float buffers [C, S, S] in [0, 1] while they are drawn; masks carry soft (anti-aliased) edges.
#include "apps/salient_synth.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numbers>
#include <optional>

#include "apps/progress.h"
#include "apps/synth_image.h"
#include "nn/data/folder.h"
#include "nn/data/image.h"
#include "nn/data/transforms.h"
#include "ops/factory.h"
#include "ops/ops.h"

namespace nabla::apps {
namespace fs = std::filesystem;

namespace {

constexpr double kPi = std::numbers::pi;

struct Canvas {  // a float image [channels, size, size], row-major
    int64_t channels, size;
    std::vector<float> v;
    Canvas(int64_t c, int64_t s, float fill = 0) : channels(c), size(s), v(static_cast<size_t>(c * s * s), fill) {}
    Canvas(int64_t c, int64_t s, std::vector<float> values) : channels(c), size(s), v(std::move(values)) {}
    float& at(int64_t c, int64_t y, int64_t x) { return v[static_cast<size_t>((c * size + y) * size + x)]; }
    float at(int64_t c, int64_t y, int64_t x) const { return v[static_cast<size_t>((c * size + y) * size + x)]; }
    Tensor tensor() const { return from_vector(v, {channels, size, size}); }
};

// An axis-aligned ellipse; its coverage of a pixel is antialiased from an approximate distance to the edge.
struct Ellipse {
    double cx, cy, rx, ry;
    double distance(double x, double y) const {  // < 0 inside; about the distance in pixels near the edge
        return (std::hypot((x - cx) / rx, (y - cy) / ry) - 1) * std::min(rx, ry);
    }
    float coverage(int64_t y, int64_t x) const {  // of pixel (row y, column x)
        return static_cast<float>(std::clamp(0.5 - distance(x + 0.5, y + 0.5), 0.0, 1.0));
    }
};

// random_view (apps/synth_image.h) as a Canvas: a random square view of `photo`, a fraction in [low, high) of its
// short side.
Canvas canvas_view(const Tensor& photo, int64_t size, Generator& g, double low = 0.5, double high = 1.0) {
    return {3, size, random_view(photo, size, g, low, high)};
}

// alpha of a smooth random blob: inside where the distance to the centre is below r(θ) = R (1 + Σ a_k cos(kθ + φ_k)).
Canvas blob_alpha(int64_t s, Generator& g) {
    Canvas a(1, s);
    const double cy = s * (0.35 + 0.3 * g.uniform()), cx = s * (0.3 + 0.4 * g.uniform());
    const double radius = s * (0.16 + 0.22 * g.uniform());
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

// alpha of a head-and-shoulders figure, as in a portrait: ellipses for the head and the neck above a wide one for
// the shoulders that runs out of the bottom edge; `neck_y` is where the head ends and the clothes begin.
Canvas bust_alpha(int64_t s, Generator& g, double& neck_y) {
    const double head_rx = s * (0.1 + 0.08 * g.uniform()), head_cx = s * (0.35 + 0.3 * g.uniform());
    const Ellipse head{head_cx, s * (0.22 + 0.2 * g.uniform()), head_rx, head_rx * (1.15 + 0.2 * g.uniform())};
    const Ellipse neck{head_cx, head.cy + head.ry, 0.5 * head.rx, 0.6 * head.ry};
    const double top = head.cy + 1.35 * head.ry;  // where the shoulders' curve peaks
    neck_y = head.cy + 1.2 * head.ry;
    const Ellipse shoulders{head_cx + s * 0.1 * (g.uniform() - 0.5), s * 1.05, s * (0.3 + 0.2 * g.uniform()),
                            s * 1.05 - top};
    Canvas a(1, s);
    for (int64_t y = 0; y < s; ++y)
        for (int64_t x = 0; x < s; ++x)
            a.at(0, y, x) = std::max({head.coverage(y, x), neck.coverage(y, x), shoulders.coverage(y, x)});
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

void blur(Canvas& c, double sigma) { gaussian_blur_planes(c.v, c.channels, c.size, sigma); }

// The object's texture: a crop of another photo; sometimes smoothed into a plain painted surface (low texture, as
// a coat or a car body), and its mean colour pulled part of the way towards the background's, so neither texture
// nor colour alone tells object from background.
Canvas object_texture(const Tensor& photo, const Canvas& background, Generator& g) {
    Canvas object = canvas_view(photo, background.size, g);
    if (g.uniform() < 0.3) blur(object, uniform(g, 2, 6));
    const double pull = g.uniform() < 0.5 ? uniform(g, 0, 0.6) : 0.0;
    const int64_t plane = object.size * object.size;
    for (int64_t c = 0; c < 3; ++c) {
        double fg = 0, bg = 0;
        for (int64_t i = 0; i < plane; ++i) fg += object.v[c * plane + i], bg += background.v[c * plane + i];
        const float shift = static_cast<float>(pull * (bg - fg) / plane);
        for (int64_t i = 0; i < plane; ++i)
            object.v[c * plane + i] = std::clamp(object.v[c * plane + i] + shift, 0.0f, 1.0f);
    }
    return object;
}

// The centre of mass of an alpha map (row, column); nullopt when it is (nearly) empty.
std::optional<std::pair<double, double>> centroid(const Canvas& alpha) {
    double mass = 0, cy = 0, cx = 0;
    for (int64_t y = 0; y < alpha.size; ++y)
        for (int64_t x = 0; x < alpha.size; ++x)
            mass += alpha.at(0, y, x), cy += y * alpha.at(0, y, x), cx += x * alpha.at(0, y, x);
    if (mass < 1) return std::nullopt;
    return std::pair{cy / mass, cx / mass};
}

// `second` over `object` on one side of a soft straight line through (y0, x0) whose normal points along `angle`.
void paint_beyond_line(Canvas& object, const Canvas& second, double y0, double x0, double angle) {
    for (int64_t y = 0; y < object.size; ++y)
        for (int64_t x = 0; x < object.size; ++x) {
            const double side = (x + 0.5 - x0) * std::cos(angle) + (y + 0.5 - y0) * std::sin(angle);
            const float t = static_cast<float>(std::clamp(side + 0.5, 0.0, 1.0));
            for (int64_t c = 0; c < 3; ++c) object.at(c, y, x) += t * (second.at(c, y, x) - object.at(c, y, x));
        }
}

// A photo other than the background's (photos[bg]), drawn uniformly from the others.
const Tensor& other_photo(const std::vector<Tensor>& photos, size_t bg, Generator& g) {
    const size_t i = static_cast<size_t>(g.randint(0, static_cast<int64_t>(photos.size()) - 1));
    return photos[i >= bg ? i + 1 : i];
}

// An object of several materials, as a person (face, clothes, a badge) or a machine is: one photo's texture, often
// another's beyond a soft line (level at a bust's neck, else at a random angle near the silhouette's centroid),
// and up to three small elliptic patches (a third texture or a plain colour) near the centroid. Each texture is an
// object_texture() of a photo other than the background's (photos[bg]).
Canvas object_of_parts(const std::vector<Tensor>& photos, size_t bg, const Canvas& alpha, const Canvas& background,
                       std::optional<double> neck_y, Generator& g) {
    const int64_t s = alpha.size;
    Canvas object = object_texture(other_photo(photos, bg, g), background, g);
    const auto centre = centroid(alpha);
    if (!centre) return object;
    const auto [cy, cx] = *centre;
    if (g.uniform() < 0.6) {
        const Canvas second = object_texture(other_photo(photos, bg, g), background, g);
        const double angle = neck_y ? kPi / 2 : 2 * kPi * g.uniform();
        paint_beyond_line(object, second, neck_y ? *neck_y : cy + s * 0.1 * (g.uniform() - 0.5), cx, angle);
    }
    const int64_t patches = g.randint(0, 4);
    for (int64_t k = 0; k < patches; ++k) {
        const bool plain = g.uniform() < 0.5;
        std::optional<Canvas> texture;  // a photo's, or none for a plain colour
        if (!plain) texture = object_texture(other_photo(photos, bg, g), background, g);
        const float colour[3] = {static_cast<float>(g.uniform()), static_cast<float>(g.uniform()),
                                 static_cast<float>(g.uniform())};
        const double py = cy + s * 0.3 * (g.uniform() - 0.5), px = cx + s * 0.3 * (g.uniform() - 0.5);
        const double ry = s * uniform(g, 0.02, 0.08);
        const Ellipse patch{px, py, ry * uniform(g, 0.6, 1.6), ry};
        for (int64_t y = std::max<int64_t>(0, std::lround(py - ry - 1));
             y < std::min<int64_t>(s, std::lround(py + ry + 2)); ++y)
            for (int64_t x = std::max<int64_t>(0, std::lround(px - patch.rx - 1));
                 x < std::min<int64_t>(s, std::lround(px + patch.rx + 2)); ++x) {
                const float t = patch.coverage(y, x);
                for (int64_t c = 0; c < 3; ++c)
                    object.at(c, y, x) += t * ((texture ? texture->at(c, y, x) : colour[c]) - object.at(c, y, x));
            }
    }
    return object;
}

// Lights the object as a solid: brightness changes linearly along a random light direction and falls off towards
// the rim (the distance inside the silhouette, from a blurred alpha).
void shade_object(Canvas& object, const Canvas& alpha, Generator& g) {
    const int64_t s = alpha.size;
    const double angle = 2 * kPi * g.uniform(), gradient = uniform(g, 0, 0.5), rim = uniform(g, 0, 0.45);
    Canvas inside = alpha;
    blur(inside, s * 0.04);
    for (int64_t y = 0; y < s; ++y)
        for (int64_t x = 0; x < s; ++x) {
            const double along = ((x - s / 2.0) * std::cos(angle) + (y - s / 2.0) * std::sin(angle)) / s;
            const double light = (1 + gradient * along) * (1 - rim * (1 - inside.at(0, y, x)));
            for (int64_t c = 0; c < 3; ++c)
                object.at(c, y, x) = static_cast<float>(std::clamp(object.at(c, y, x) * light, 0.0, 1.0));
        }
}

// A soft shadow of the object cast on the background, offset along a random direction; it darkens the picture
// but is not part of the mask.
void cast_shadow(Canvas& image, const Canvas& alpha, Generator& g) {
    const int64_t s = alpha.size;
    const int64_t dy = std::lround(uniform(g, 0.01, 0.06) * s), dx = std::lround(uniform(g, -0.06, 0.06) * s);
    Canvas shadow(1, s);
    for (int64_t y = 0; y < s; ++y)
        for (int64_t x = 0; x < s; ++x)
            if (y - dy >= 0 && y - dy < s && x - dx >= 0 && x - dx < s)
                shadow.at(0, y, x) = alpha.at(0, y - dy, x - dx);
    blur(shadow, uniform(g, 0.01, 0.04) * s);
    const double strength = uniform(g, 0.25, 0.6);
    for (int64_t c = 0; c < 3; ++c)
        for (int64_t y = 0; y < s; ++y)
            for (int64_t x = 0; x < s; ++x) image.at(c, y, x) *= static_cast<float>(1 - strength * shadow.at(0, y, x));
}

// Sensor noise over the whole picture: Gaussian, the same standard deviation in every channel.
void add_noise(Canvas& image, double sigma, Generator& g) {
    for (float& v : image.v) v = std::clamp(v + static_cast<float>(sigma * g.normal()), 0.0f, 1.0f);
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

// An object scene on `image`, a view of photos[bg]: the background maybe defocused, an object (a bust, the horse
// silhouette or a blob, textured by other photos) composited through a soft alpha that becomes the mask, maybe
// with hair. Every choice is drawn from `g` in a fixed order, so a seed gives the same scene.
void draw_object_scene(Canvas& image, Canvas& alpha, const std::vector<Tensor>& photos, size_t bg,
                       const Tensor& silhouette, Generator& g) {
    const int64_t s = image.size;
    const Tensor& fg = other_photo(photos, bg, g);
    if (g.uniform() < 0.6) blur(image, uniform(g, 1, 5));  // a background out of focus, as in photographs
    const double shape = g.uniform();
    std::optional<double> neck_y;
    if (shape < 0.25)
        alpha = bust_alpha(s, g, neck_y.emplace());
    else
        alpha = shape < 0.45 && silhouette.defined() ? silhouette_alpha(silhouette, s, g) : blob_alpha(s, g);
    if (g.uniform() < 0.7) blur(alpha, uniform(g, 0.3, 1.2));  // a matte's soft edge, not a cut-out's
    Canvas object =
        g.uniform() < 0.5 ? object_texture(fg, image, g) : object_of_parts(photos, bg, alpha, image, neck_y, g);
    if (g.uniform() < 0.7) shade_object(object, alpha, g);
    if (g.uniform() < 0.5) cast_shadow(image, alpha, g);
    for (int64_t c = 0; c < 3; ++c)
        for (int64_t y = 0; y < s; ++y)
            for (int64_t x = 0; x < s; ++x) {
                const float a = alpha.at(0, y, x);
                image.at(c, y, x) = a * object.at(c, y, x) + (1 - a) * image.at(c, y, x);
            }
    if (g.uniform() < 0.4) draw_hair(image, alpha, g);
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
        Canvas alpha(1, o.size);
        const bool sky = g.uniform() < 0.25;
        // An object scene's background is a closer view (a quarter to 3/5 of the short side), so that it seldom
        // holds a photo's whole subject, which a mask that calls it background would teach the network to ignore.
        Canvas image = canvas_view(photos[bg], o.size, g, sky ? 0.5 : 0.25, sky ? 1.0 : 0.6);
        if (sky) {
            draw_sky(image, alpha, g);
        } else {
            draw_object_scene(image, alpha, photos, bg, silhouette, g);
        }
        if (g.uniform() < 0.5) add_noise(image, uniform(g, 0.005, 0.03), g);
        const int quality = static_cast<int>(g.randint(70, 96));
        const std::string stem = fmt::format("synth_{:05}", n);
        data::write_jpeg((split / "images" / (stem + ".jpg")).string(), data::to_uint8(image.tensor()), quality);
        data::write_png((split / "masks" / (stem + ".png")).string(), data::to_uint8(alpha.tensor()));
        bar.update();
    }
    bar.close();
}

}  // namespace nabla::apps
