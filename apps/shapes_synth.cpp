// apps/shapes_synth.cpp — generate_shapes(): objects of six classes composited on crops of the bundled photos, with
// occlusion bookkeeping per pixel (which object is on top) so that each label is the box of its object's visible
// pixels. Pictures are drawn in float buffers [3, H, W] and written as JPEG; shapes are antialiased by a signed
// distance (an ellipse's first-order distance, or the largest edge distance of a convex polygon; the star is a union
// of convex pieces).
#include "apps/shapes_synth.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <tuple>

#include "apps/progress.h"
#include "nn/data/dataloader.h"
#include "nn/data/folder.h"
#include "nn/data/image.h"
#include "nn/data/transforms.h"
#include "ops/factory.h"

namespace nabla::apps {
namespace fs = std::filesystem;

namespace {

constexpr double kPi = std::numbers::pi;
enum Kind { kCircle, kSquare, kTriangle, kStar, kPatch, kPrint };
// An object keeps its label while at least kKeep of its area is visible; placements that would leave a labelled
// object between kGone and kKeep visible are retried, so an unlabelled object is all but covered.
constexpr double kKeep = 0.4, kGone = 0.05;

struct Rgb {
    double r = 0, g = 0, b = 0;
    double operator[](int c) const { return c == 0 ? r : c == 1 ? g : b; }
};

Rgb hsv_rgb(double h, double s, double v) {
    h = h - std::floor(h);
    const double i = std::floor(h * 6), f = h * 6 - i, p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
    switch (static_cast<int>(i) % 6) {
        case 0: return {v, t, p};
        case 1: return {q, v, p};
        case 2: return {p, v, t};
        case 3: return {p, q, v};
        case 4: return {t, p, v};
        default: return {v, p, q};
    }
}

struct Photo {  // float [3, h, w] in [0, 1]
    int64_t h = 0, w = 0;
    std::vector<float> v;
    // Bilinear sample at continuous coordinates (x, y), clamped to the image.
    Rgb sample(double x, double y) const {
        const double sx = std::clamp(x - 0.5, 0.0, static_cast<double>(w - 1));
        const double sy = std::clamp(y - 0.5, 0.0, static_cast<double>(h - 1));
        const int64_t x0 = static_cast<int64_t>(sx), y0 = static_cast<int64_t>(sy);
        const int64_t x1 = std::min(x0 + 1, w - 1), y1 = std::min(y0 + 1, h - 1);
        const double ax = sx - static_cast<double>(x0), ay = sy - static_cast<double>(y0);
        double out[3];
        for (int64_t c = 0; c < 3; ++c) {
            const float* p = v.data() + c * h * w;
            out[c] = (1 - ay) * ((1 - ax) * p[y0 * w + x0] + ax * p[y0 * w + x1]) +
                     ay * ((1 - ax) * p[y1 * w + x0] + ax * p[y1 * w + x1]);
        }
        return {out[0], out[1], out[2]};
    }
};

struct Pt {
    double x, y;
};
using Poly = std::vector<Pt>;  // convex

double poly_area(const Poly& p) {
    double a = 0;
    for (size_t i = 0; i < p.size(); ++i) {
        const Pt &u = p[i], &v = p[(i + 1) % p.size()];
        a += u.x * v.y - v.x * u.y;
    }
    return a / 2;
}

// Distance outside the convex polygon (negative inside): the largest signed distance to its edge lines.
double poly_sd(const Poly& p, double sign, double x, double y) {
    double d = -1e300;
    for (size_t i = 0; i < p.size(); ++i) {
        const Pt &a = p[i], &b = p[(i + 1) % p.size()];
        const double ex = b.x - a.x, ey = b.y - a.y;
        d = std::max(d, -sign * (ex * (y - a.y) - ey * (x - a.x)) / std::hypot(ex, ey));
    }
    return d;
}

struct Object {
    Kind kind = kCircle;
    double cx = 0, cy = 0, rx = 1, ry = 1, cosa = 1, sina = 0;
    std::vector<Poly> pieces;  // polygon kinds, in pixels
    std::vector<double> signs;
    double area = 0, band = 0;
    Rgb c1, c2;
    bool checks = true;  // patch: checks or stripes
    double period = 6;
    const Photo* photo = nullptr;  // print
    double px0 = 0, py0 = 0, pw = 1, ph = 1;
    int64_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // window in pixels, [x0, x1) x [y0, y1)

    // Local, unrotated coordinates normalised by the half extents.
    void local(double x, double y, double& u, double& v) const {
        const double dx = x - cx, dy = y - cy;
        u = (dx * cosa + dy * sina) / rx;
        v = (-dx * sina + dy * cosa) / ry;
    }
    double signed_distance(double x, double y) const {
        if (kind == kCircle) {
            double u, v;
            local(x, y, u, v);
            const double g = 2 * std::hypot(u / rx, v / ry);
            return g > 1e-12 ? (u * u + v * v - 1) / g : -std::min(rx, ry);
        }
        double d = 1e300;
        for (size_t k = 0; k < pieces.size(); ++k) d = std::min(d, poly_sd(pieces[k], signs[k], x, y));
        return d;
    }
    Rgb colour(double x, double y, double sd) const {
        double u, v;
        local(x, y, u, v);
        switch (kind) {
            case kCircle: {
                const double shade = 1.05 - 0.45 * (u * u + v * v);
                const double hl = 0.45 * std::exp(-((u + 0.35) * (u + 0.35) + (v + 0.4) * (v + 0.4)) / 0.06);
                return {c1.r * shade + hl, c1.g * shade + hl, c1.b * shade + hl};
            }
            case kSquare:
            case kStar: return sd > -band ? c2 : c1;
            case kTriangle: {
                const double shade = 1.15 - 0.2 * (v + 1);
                return {c1.r * shade, c1.g * shade, c1.b * shade};
            }
            case kPatch: {
                const double lx = u * rx, ly = v * ry;
                const int64_t cell = checks ? static_cast<int64_t>(std::floor(lx / period) + std::floor(ly / period))
                                            : static_cast<int64_t>(std::floor((lx + ly) * 0.7071 / period));
                return (cell & 1) ? c2 : c1;
            }
            case kPrint:
                if (sd > -band) return {0.95, 0.95, 0.93};
                return photo->sample(px0 + (u + 1) / 2 * pw, py0 + (v + 1) / 2 * ph);
        }
        return c1;
    }
};

struct Picture {
    int64_t h, w;
    std::vector<float> v;        // [3, h, w]
    std::vector<int32_t> owner;  // the object whose coverage is >= 0.5 on top, or -1
    Picture(int64_t h_, int64_t w_) : h(h_), w(w_), v(static_cast<size_t>(3 * h_ * w_)), owner(h_ * w_, -1) {}
};

// The geometry of an object of `kind` at (cx, cy) with half extents (rx, ry) turned by `angle` radians.
void place(Object& o, double cx, double cy, double angle) {
    o.cx = cx, o.cy = cy, o.cosa = std::cos(angle), o.sina = std::sin(angle);
    auto to_pixels = [&](double u, double v) {
        const double lx = u * o.rx, ly = v * o.ry;
        return Pt{cx + lx * o.cosa - ly * o.sina, cy + lx * o.sina + ly * o.cosa};
    };
    o.pieces.clear();
    switch (o.kind) {
        case kCircle: break;
        case kTriangle: o.pieces.push_back({to_pixels(0, -1), to_pixels(1, 1), to_pixels(-1, 1)}); break;
        case kStar: {
            Poly inner;
            for (int k = 0; k < 5; ++k) {
                const double a = -kPi / 2 + (2 * k + 1) * kPi / 5;
                inner.push_back(to_pixels(0.42 * std::cos(a), 0.42 * std::sin(a)));
            }
            o.pieces.push_back(inner);
            for (int k = 0; k < 5; ++k) {
                const double a = -kPi / 2 + 2 * k * kPi / 5;
                o.pieces.push_back({inner[static_cast<size_t>((k + 4) % 5)], to_pixels(std::cos(a), std::sin(a)),
                                    inner[static_cast<size_t>(k)]});
            }
            break;
        }
        default: o.pieces.push_back({to_pixels(-1, -1), to_pixels(1, -1), to_pixels(1, 1), to_pixels(-1, 1)});
    }
    double lo_x, hi_x, lo_y, hi_y;
    if (o.kind == kCircle) {
        const double ex = std::hypot(o.rx * o.cosa, o.ry * o.sina), ey = std::hypot(o.rx * o.sina, o.ry * o.cosa);
        lo_x = cx - ex, hi_x = cx + ex, lo_y = cy - ey, hi_y = cy + ey;
        o.area = kPi * o.rx * o.ry;
    } else {
        lo_x = lo_y = 1e300, hi_x = hi_y = -1e300;
        o.area = 0;
        o.signs.clear();
        for (const Poly& p : o.pieces) {
            for (const Pt& q : p)
                lo_x = std::min(lo_x, q.x), hi_x = std::max(hi_x, q.x), lo_y = std::min(lo_y, q.y),
                hi_y = std::max(hi_y, q.y);
            const double a = poly_area(p);
            o.area += std::abs(a);
            o.signs.push_back(a >= 0 ? 1.0 : -1.0);
        }
    }
    o.x0 = static_cast<int64_t>(std::floor(lo_x)) - 1, o.x1 = static_cast<int64_t>(std::ceil(hi_x)) + 1;
    o.y0 = static_cast<int64_t>(std::floor(lo_y)) - 1, o.y1 = static_cast<int64_t>(std::ceil(hi_y)) + 1;
}

// Half extents of the rotated object's bounding box.
std::pair<double, double> rotated_extent(double rx, double ry, double angle) {
    const double c = std::abs(std::cos(angle)), s = std::abs(std::sin(angle));
    return {rx * c + ry * s, rx * s + ry * c};
}

struct Label {
    int64_t cls;
    double x1, y1, x2, y2;
};

struct Rendered {
    Picture picture;
    std::vector<Label> labels;
    int64_t hidden = 0;
};

Rendered render(const std::vector<Photo>& photos, int64_t size, int64_t classes, int64_t max_objects, Generator& g) {
    // the picture's shape: square, 4:3, 3:4, 16:9 or 9:16
    const double shape = g.uniform();
    const double ratio = shape < 0.4    ? 1.0
                         : shape < 0.6  ? 0.75
                         : shape < 0.75 ? 4.0 / 3
                         : shape < 0.9  ? 0.5625
                                        : 16.0 / 9;
    int64_t h = size, w = size;  // ratio = h / w
    if (ratio < 1) h = std::max<int64_t>(16, 2 * std::lround(size * ratio / 2));
    if (ratio > 1) w = std::max<int64_t>(16, 2 * std::lround(size / ratio / 2));
    Rendered out{Picture(h, w), {}, 0};
    Picture& pic = out.picture;

    // background: a crop of a photo with the picture's aspect, maybe mirrored, brightness jittered
    const Photo& bg = photos[static_cast<size_t>(g.randint(0, static_cast<int64_t>(photos.size())))];
    double cw = static_cast<double>(bg.w), ch = cw * static_cast<double>(h) / static_cast<double>(w);
    if (ch > static_cast<double>(bg.h)) ch = static_cast<double>(bg.h), cw = ch * static_cast<double>(w) / h;
    const double f = 0.5 + 0.5 * g.uniform();
    cw *= f, ch *= f;
    const double left = g.uniform() * (static_cast<double>(bg.w) - cw),
                 top = g.uniform() * (static_cast<double>(bg.h) - ch);
    const bool mirror = g.uniform() < 0.5;
    const double gain = 0.75 + 0.4 * g.uniform();
    for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x) {
            const double sx = (static_cast<double>(mirror ? w - 1 - x : x) + 0.5) * cw / static_cast<double>(w);
            const Rgb c = bg.sample(left + sx, top + (static_cast<double>(y) + 0.5) * ch / static_cast<double>(h));
            for (int k = 0; k < 3; ++k)
                pic.v[static_cast<size_t>((k * h + y) * w + x)] = static_cast<float>(std::min(1.0, c[k] * gain));
        }

    // objects, largest first
    const int64_t count = g.uniform() < 0.05 ? 0 : 1 + g.randint(0, max_objects);
    const double short_side = static_cast<double>(std::min(h, w));
    std::vector<double> sizes;
    for (int64_t k = 0; k < count; ++k)
        sizes.push_back(std::exp(std::log(12.0) + g.uniform() * (std::log(0.8 * short_side) - std::log(12.0))));
    std::sort(sizes.rbegin(), sizes.rend());
    std::vector<Object> objects;
    std::vector<int64_t> visible;  // pixels each object owns
    std::vector<float> alpha;
    for (double d : sizes) {
        Object o;
        o.kind = static_cast<Kind>(g.randint(0, classes));
        const double aspect = std::exp((2 * g.uniform() - 1) * std::log(1.8));
        o.rx = d / 2 * std::min(1.0, aspect), o.ry = d / 2 * std::min(1.0, 1 / aspect);
        const double grow = std::max(1.0, 4.0 / std::min(o.rx, o.ry));  // at least 8 pixels across
        o.rx *= grow, o.ry *= grow;
        const double spread[] = {kPi, 0.44, 0.35, kPi, 0.44, 0.21};  // rotation range per kind, radians
        const double angle = (2 * g.uniform() - 1) * spread[o.kind];
        const Rgb base = hsv_rgb(g.uniform(), 0.55 + 0.45 * g.uniform(), 0.55 + 0.45 * g.uniform());
        o.c1 = base;
        o.c2 = {base.r * 0.3, base.g * 0.3, base.b * 0.3};
        o.band = std::max(1.2, 0.12 * std::min(o.rx, o.ry) * 2);
        if (o.kind == kStar) o.band = std::max(1.0, 0.05 * std::min(o.rx, o.ry) * 2);
        if (o.kind == kPatch) {
            o.checks = g.uniform() < 0.5;
            o.period = 3 + 7 * g.uniform();
            o.c2 = hsv_rgb(g.uniform(), 0.3 + 0.7 * g.uniform(), 0.15 + 0.35 * g.uniform());
        }
        if (o.kind == kPrint) {
            o.band = std::max(1.5, 0.09 * std::min(o.rx, o.ry) * 2);
            o.photo = &photos[static_cast<size_t>(g.randint(0, static_cast<int64_t>(photos.size())))];
            o.pw = o.photo->w * (0.3 + 0.5 * g.uniform());
            o.ph = std::min(static_cast<double>(o.photo->h), o.pw * o.ry / o.rx);
            o.pw = o.ph * o.rx / o.ry;
            o.px0 = g.uniform() * (o.photo->w - o.pw), o.py0 = g.uniform() * (o.photo->h - o.ph);
        }
        // placement: up to 8 tries, at most 20% of the object outside the picture, and no object left half-hidden
        const auto [ex, ey] = rotated_extent(o.rx, o.ry, angle);
        bool placed = false;
        for (int attempt = 0; attempt < 8 && !placed; ++attempt) {
            auto centre = [&](double e, int64_t n) {
                const double lo = 0.6 * e, hi = static_cast<double>(n) - 0.6 * e;
                return lo < hi ? lo + (hi - lo) * g.uniform() : static_cast<double>(n) / 2;
            };
            const double cx = centre(ex, w), cy = centre(ey, h);
            place(o, cx, cy, angle);
            const int64_t x0 = std::max<int64_t>(o.x0, 0), x1 = std::min(o.x1, w);
            const int64_t y0 = std::max<int64_t>(o.y0, 0), y1 = std::min(o.y1, h);
            alpha.assign(static_cast<size_t>(std::max<int64_t>(0, (x1 - x0) * (y1 - y0))), 0.0f);
            std::vector<int64_t> taken(objects.size(), 0);
            for (int64_t y = y0; y < y1; ++y)
                for (int64_t x = x0; x < x1; ++x) {
                    const double sd = o.signed_distance(static_cast<double>(x) + 0.5, static_cast<double>(y) + 0.5);
                    const float a = static_cast<float>(std::clamp(0.5 - sd, 0.0, 1.0));
                    alpha[static_cast<size_t>((y - y0) * (x1 - x0) + (x - x0))] = a;
                    const int32_t under = pic.owner[static_cast<size_t>(y * w + x)];
                    if (a >= 0.5f && under >= 0) ++taken[static_cast<size_t>(under)];
                }
            placed = true;
            for (size_t j = 0; j < objects.size(); ++j) {  // no labelled object left between 5% and 40% visible
                const double before = static_cast<double>(visible[j]) / objects[j].area;
                const double after = static_cast<double>(visible[j] - taken[j]) / objects[j].area;
                if (before >= kKeep && after < kKeep && after >= kGone) placed = false;
            }
            if (!placed) continue;
            const int32_t id = static_cast<int32_t>(objects.size());
            visible.push_back(0);
            for (int64_t y = y0; y < y1; ++y)
                for (int64_t x = x0; x < x1; ++x) {
                    const float a = alpha[static_cast<size_t>((y - y0) * (x1 - x0) + (x - x0))];
                    if (a <= 0) continue;
                    const double px = static_cast<double>(x) + 0.5, py = static_cast<double>(y) + 0.5;
                    const Rgb c = o.colour(px, py, o.signed_distance(px, py));
                    for (int k = 0; k < 3; ++k) {
                        float& p = pic.v[static_cast<size_t>((k * h + y) * w + x)];
                        p = a * static_cast<float>(std::clamp(c[k], 0.0, 1.0)) + (1 - a) * p;
                    }
                    if (a >= 0.5f) {
                        int32_t& own = pic.owner[static_cast<size_t>(y * w + x)];
                        if (own >= 0) --visible[static_cast<size_t>(own)];
                        own = id;
                        ++visible[static_cast<size_t>(id)];
                    }
                }
            objects.push_back(o);
        }
    }

    // labels: the extent of each object's visible pixels, dropped when less than 40% of it shows
    const size_t n = objects.size();
    std::vector<int64_t> lo_x(n, w), lo_y(n, h), hi_x(n, -1), hi_y(n, -1);
    for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x) {
            const int32_t own = pic.owner[static_cast<size_t>(y * w + x)];
            if (own < 0) continue;
            const auto k = static_cast<size_t>(own);
            lo_x[k] = std::min(lo_x[k], x), hi_x[k] = std::max(hi_x[k], x);
            lo_y[k] = std::min(lo_y[k], y), hi_y[k] = std::max(hi_y[k], y);
        }
    for (size_t k = 0; k < n; ++k) {
        if (static_cast<double>(visible[k]) < kKeep * objects[k].area || hi_x[k] - lo_x[k] < 1 ||
            hi_y[k] - lo_y[k] < 1) {
            ++out.hidden;
            continue;
        }
        out.labels.push_back({static_cast<int64_t>(objects[k].kind), static_cast<double>(lo_x[k]),
                              static_cast<double>(lo_y[k]), static_cast<double>(hi_x[k] + 1),
                              static_cast<double>(hi_y[k] + 1)});
    }
    return out;
}

std::vector<Photo> load_photos(const std::string& dir, int64_t size) {
    if (!fs::is_directory(dir)) throw Error(fmt::format("generate_shapes: the photos folder {} does not exist", dir));
    std::vector<Photo> photos;
    for (const auto& path : data::list_images(dir)) {
        if (fs::path(path).stem() == "horse_silhouette") continue;  // a mask, not a photo
        Tensor t = data::to_tensor(data::read_image(path, data::ImageMode::RGB));
        const double shrink = 1.25 * static_cast<double>(size) / static_cast<double>(std::min(t.size(1), t.size(2)));
        if (shrink < 1)  // keep sampling cheap: about 1.25x the picture on the short side
            t = data::resize(t, {std::lround(t.size(1) * shrink), std::lround(t.size(2) * shrink)},
                             data::Interpolation::Bilinear, /*antialias=*/true);
        t = t.contiguous();
        Photo p{t.size(1), t.size(2), {}};
        p.v.assign(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
        photos.push_back(std::move(p));
    }
    if (photos.empty()) throw Error(fmt::format("generate_shapes: {} has no readable photos", dir));
    return photos;
}

void write_picture(const std::string& path, const Picture& pic) {
    std::vector<uint8_t> bytes(pic.v.size());
    for (size_t i = 0; i < bytes.size(); ++i)
        bytes[i] = static_cast<uint8_t>(std::clamp(pic.v[i] * 255.0f + 0.5f, 0.0f, 255.0f));
    data::write_jpeg(path, from_vector(bytes, {3, pic.h, pic.w}), 92);
}

void remove_stale(const fs::path& dir) {  // earlier runs' shapes_* files
    if (!fs::is_directory(dir)) return;
    std::vector<fs::path> stale;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.is_regular_file() && e.path().filename().string().starts_with("shapes_")) stale.push_back(e.path());
    for (const auto& p : stale) fs::remove(p);
}

}  // namespace

const std::vector<std::string>& shape_class_names() {
    static const std::vector<std::string> names{"circle", "square", "triangle", "star", "patch", "photo"};
    return names;
}

ShapesStats generate_shapes(const std::string& dir, const ShapesSynthOptions& o) {
    const auto all = static_cast<int64_t>(shape_class_names().size());
    NB_CHECK_VALUE(
        o.train >= 1 && o.val >= 1 && o.size >= 64 && o.classes >= 1 && o.classes <= all && o.max_objects >= 1,
        "generate_shapes: need train >= 1, val >= 1, size >= 64, classes in [1, ", all, "] and max_objects >= 1; got ",
        o.train, ", ", o.val, ", ", o.size, ", ", o.classes, ", ", o.max_objects);
    const std::vector<Photo> photos = load_photos(o.photos, o.size);
    ShapesStats stats;
    ProgressBar bar("generating shapes", o.train + o.val);
    for (const auto& [split, count, salt] : {std::tuple{"train", o.train, 1}, std::tuple{"val", o.val, 2}}) {
        const fs::path images = fs::path(dir) / "images" / split, labels = fs::path(dir) / "labels" / split;
        remove_stale(images);
        remove_stale(labels);
        fs::create_directories(images);
        fs::create_directories(labels);
        std::exception_ptr failure;
#pragma omp parallel for schedule(dynamic, 4)
        for (int64_t n = 0; n < count; ++n) {
            try {
                Generator g(data::example_seed(o.seed, salt, n));
                const Rendered r = render(photos, o.size, o.classes, o.max_objects, g);
                const std::string stem = fmt::format("shapes_{:05}", n);
                write_picture((images / (stem + ".jpg")).string(), r.picture);
                std::string text;
                const double W = static_cast<double>(r.picture.w), H = static_cast<double>(r.picture.h);
                for (const Label& l : r.labels)
                    text += fmt::format("{} {:.6f} {:.6f} {:.6f} {:.6f}\n", l.cls, (l.x1 + l.x2) / 2 / W,
                                        (l.y1 + l.y2) / 2 / H, (l.x2 - l.x1) / W, (l.y2 - l.y1) / H);
                std::ofstream(labels / (stem + ".txt")) << text;
#pragma omp critical
                {
                    ++stats.images;
                    stats.boxes += static_cast<int64_t>(r.labels.size());
                    stats.backgrounds += r.labels.empty();
                    stats.hidden += r.hidden;
                    bar.update();
                }
            } catch (...) {
#pragma omp critical
                failure = std::current_exception();
            }
        }
        if (failure) std::rethrow_exception(failure);
    }
    bar.close();
    std::vector<std::string> names(shape_class_names().begin(), shape_class_names().begin() + o.classes);
    std::ofstream yaml(fs::path(dir) / "data.yaml");
    yaml << fmt::format(
        "# Synthetic shapes written by `nabla generate shapes` (seed {}, size {}): the YOLO layout, paths relative to "
        "this file's folder\ntrain: images/train  # {} images\nval: images/val  # {} images\nnc: {}\nnames: [{}]\n",
        o.seed, o.size, o.train, o.val, o.classes, fmt::join(names, ", "));
    if (!yaml) throw Error(fmt::format("generate_shapes: cannot write {}/data.yaml", dir));
    return stats;
}

}  // namespace nabla::apps
