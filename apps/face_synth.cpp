// apps/face_synth.cpp — the synthetic faces of apps/face_synth.h: the mean face, identity and expression, the outline
// that follows the head's silhouette as it turns, an anti-aliased polygon painter, the attribute effects, and the
// writer of the WFLW-layout folder. The model is described in docs/pfld_data.md §9.
#include "apps/face_synth.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <filesystem>
#include <fstream>
#include <numbers>

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
using Color = std::array<double, 3>;
using Mat3 = std::array<double, 9>;

double lerp(double a, double b, double t) { return a + (b - a) * t; }
Point2 lerp2(const Point2& a, const Point2& b, double t) { return {lerp(a[0], b[0], t), lerp(a[1], b[1], t)}; }
double sign(double x) { return x > 0 ? 1.0 : x < 0 ? -1.0 : 0.0; }
Color scale(const Color& c, double k) { return {c[0] * k, c[1] * k, c[2] * k}; }
Color mix(const Color& a, const Color& b, double t) {
    return {lerp(a[0], b[0], t), lerp(a[1], b[1], t), lerp(a[2], b[2], t)};
}

// --- the mean face (docs/pfld_data.md §9: the jaw is an elliptic arc through the template's chin) ---

constexpr double kJawHalfWidth = 8.0, kJawCentreY = 3.2012, kJawHalfHeight = 10.616891;
constexpr double kJawCentreZ = 0.3501, kJawDepth = 3.720334, kJawAngle = 0.53 * kPi;

Point3 eye_point(double t, double lid) {  // t from the outer (0) to the inner corner (1); lid: height of the lid
    const Point3 outer = {5.311432, 5.485328, 3.987654}, inner = {1.789930, 5.393625, 4.413414};
    const double bulge = std::sin(kPi * t);
    return {lerp(outer[0], inner[0], t), lerp(outer[1], inner[1], t) + lid * bulge,
            lerp(outer[2], inner[2], t) + 0.35 * bulge};
}

Point3 brow_point(double t, bool upper) {  // t from the outer tip (0) to the inner end (1)
    const Point3 outer = {6.825897, 6.760612, 4.402142}, inner = {1.330353, 7.122144, 6.903745};
    const double bulge = std::sin(kPi * t);
    const double y =
        upper ? lerp(outer[1], 7.62, t) + 0.85 * bulge * (1 - 0.3 * t) : lerp(outer[1], inner[1], t) + 0.55 * bulge;
    return {lerp(outer[0], inner[0], t), y, lerp(outer[2], inner[2], t) + 0.3 * bulge};
}

void mirror_left_side(Shape3& p) {  // the image-left half (X > 0) copied to the right by the mirror map
    const auto& map = wflw_mirror_map();
    for (int64_t k = 0; k < kNumLandmarks; ++k)
        if (p[k][0] > 0) p[map[k]] = {-p[k][0], p[k][1], p[k][2]};
}

Shape3 build_mean_face() {
    Shape3 p{};
    for (int k = 0; k <= 16; ++k) {  // jaw, image-left half and chin
        const double phi = kJawAngle * (1 - k / 16.0);
        p[k] = {kJawHalfWidth * std::sin(phi), kJawCentreY - kJawHalfHeight * std::cos(phi),
                kJawCentreZ + kJawDepth * std::cos(phi)};
    }
    p[16][0] = 0;
    for (int i = 0; i < 5; ++i) p[33 + i] = brow_point(i / 4.0, true);       // 33 outer .. 37 inner, upper edge
    for (int i = 0; i < 4; ++i) p[38 + i] = brow_point(1 - i / 4.0, false);  // 38 inner .. 41 outer, lower edge
    p[51] = {0, 5.25, 6.55}, p[52] = {0, 4.15, 7.35}, p[53] = {0, 3.05, 8.15}, p[54] = {0, 1.95, 8.95};
    p[55] = {2.005628, 1.409845, 6.165652}, p[56] = {1.05, 1.12, 7.05}, p[57] = {0, 0.98, 7.45};
    const double upper_lid = 0.72, lower_lid = -0.45;
    p[60] = eye_point(0, 0), p[61] = eye_point(0.25, upper_lid), p[62] = eye_point(0.5, upper_lid);
    p[63] = eye_point(0.75, upper_lid), p[64] = eye_point(1, 0);
    p[65] = eye_point(0.75, lower_lid), p[66] = eye_point(0.5, lower_lid), p[67] = eye_point(0.25, lower_lid);
    p[96] = eye_point(0.5, 0.13), p[96][2] += 0.15;
    p[76] = {2.774015, -2.080775, 5.048531}, p[77] = {1.75, -1.50, 5.75}, p[78] = {0.72, -1.18, 6.25};
    p[79] = {0, -1.30, 6.40}, p[85] = {0, -3.116408, 6.097667}, p[86] = {0.95, -3.00, 5.95},
    p[87] = {1.85, -2.62, 5.55};
    p[88] = {2.30, -2.10, 5.30}, p[89] = {1.15, -1.90, 5.95}, p[90] = {0, -1.88, 6.15};
    p[94] = {0, -2.00, 6.15}, p[95] = {1.15, -1.98, 5.95};
    mirror_left_side(p);
    return p;
}

// --- identity and expression ---

struct Identity {
    double width, jaw, eye_gap, eye_size, brow_lift, nose_length, nose_width, mouth_width, mouth_lift, lip;
};

struct Expression {
    double open = 0, smile = 0, brows = 0, squint = 0, gaze_x = 0, gaze_y = 0;
};

Identity draw_identity(Generator& g) {
    auto n = [&](double mean, double sd) { return mean + sd * std::clamp(g.normal(), -2.5, 2.5); };
    return {n(1, 0.05), n(1, 0.05), n(0, 0.15), n(1, 0.08), n(0, 0.2),
            n(0, 0.2),  n(1, 0.08), n(1, 0.07), n(0, 0.15), n(1, 0.12)};
}

// Neutral faces move a little; an expressive one (the WFLW flag) opens the mouth, smiles, is surprised or squints.
Expression draw_expression(Generator& g, bool expressive) {
    Expression e;
    e.gaze_x = uniform(g, -1, 1), e.gaze_y = uniform(g, -1, 1);
    if (!expressive) {
        e.open = uniform(g, 0, 0.2), e.smile = uniform(g, -0.2, 0.4), e.brows = uniform(g, -0.2, 0.3);
        e.squint = uniform(g, 0, 0.25);
        return e;
    }
    switch (g.randint(0, 4)) {
        case 0: e.open = uniform(g, 0.5, 1), e.smile = uniform(g, -0.2, 0.3); break;
        case 1: e.smile = uniform(g, 0.65, 1), e.open = uniform(g, 0, 0.35); break;
        case 2: e.open = uniform(g, 0.45, 0.9), e.brows = uniform(g, 0.65, 1); break;
        default: e.squint = uniform(g, 0.65, 1), e.smile = uniform(g, 0, 0.5); break;
    }
    return e;
}

void apply_identity(Shape3& p, const Identity& id) {
    for (int k = 0; k <= 32; ++k) p[k][0] *= id.width, p[k][1] = kJawCentreY + (p[k][1] - kJawCentreY) * id.jaw;
    for (int k = 33; k <= 50; ++k) p[k][0] *= id.width, p[k][1] += id.brow_lift;
    for (int k : {60, 61, 62, 63, 64, 65, 66, 67, 96, 68, 69, 70, 71, 72, 73, 74, 75, 97}) {
        const double side = sign(p[k][0]), cx = side * 3.55, cy = 5.44;
        p[k][0] = cx + (p[k][0] - cx) * id.eye_size + side * id.eye_gap;
        p[k][1] = cy + (p[k][1] - cy) * id.eye_size;
    }
    for (int k = 51; k <= 59; ++k) {
        p[k][1] -= id.nose_length * std::clamp((5.25 - p[k][1]) / 3.3, 0.0, 1.0);
        if (k >= 55) p[k][0] *= id.nose_width;
    }
    for (int k = 76; k <= 95; ++k) {
        p[k][0] *= id.mouth_width;
        const double corner_y = -2.080775;  // lips thicker or thinner about the corners' height
        if (k != 76 && k != 82 && k <= 87) p[k][1] = corner_y + (p[k][1] - corner_y) * id.lip;
        p[k][1] += id.mouth_lift;
    }
}

void apply_expression(Shape3& p, const Expression& e) {
    for (int k : {83, 84, 85, 86, 87}) p[k][1] -= 1.5 * e.open;
    for (int k : {93, 94, 95}) p[k][1] -= 1.6 * e.open;
    for (int k : {76, 82, 88, 92}) p[k][1] -= 0.35 * e.open, p[k][0] *= 1 - 0.08 * e.open;
    for (int k = 0; k <= 32; ++k) {
        const double w = std::pow(std::cos((k - 16) / 16.0 * kPi / 2), 2);
        p[k][1] -= 1.3 * e.open * w;
    }
    for (int k : {76, 82}) p[k][0] += sign(p[k][0]) * 0.45 * e.smile, p[k][1] += 0.55 * e.smile;
    for (int k : {88, 92}) p[k][0] += sign(p[k][0]) * 0.35 * e.smile, p[k][1] += 0.45 * e.smile;
    for (int k : {77, 81, 83, 87}) p[k][0] += sign(p[k][0]) * 0.2 * e.smile, p[k][1] += 0.3 * e.smile;
    for (int k : {65, 66, 67, 73, 74, 75}) p[k][1] += 0.12 * std::max(0.0, e.smile);
    for (int k = 33; k <= 50; ++k) p[k][1] += 0.6 * e.brows;
    for (int k = 61; k <= 75; ++k) {  // lids toward the line between the corners
        if (k == 64 || k == 68 || k == 72) continue;
        const int outer = k < 68 ? 60 : 72, inner = k < 68 ? 64 : 68;
        const double t = (p[k][0] - p[outer][0]) / (p[inner][0] - p[outer][0]);
        const double base = lerp(p[outer][1], p[inner][1], t);
        const bool upper = (k >= 61 && k <= 63) || (k >= 69 && k <= 71);
        p[k][1] = base + (p[k][1] - base) * (1 - (upper ? 0.85 : 0.5) * e.squint);
    }
    for (int k : {96, 97}) p[k][0] += 0.45 * e.gaze_x, p[k][1] += 0.15 * e.gaze_y * (1 - e.squint);
}

void jitter_points(Shape3& p, Generator& g) {  // small independent moves, mirrored so the face stays symmetric
    for (int64_t k = 0; k < kNumLandmarks; ++k) {
        if (p[k][0] < 0) continue;
        const double dx = p[k][0] > 0 ? 0.05 * g.normal() : 0.0, dy = 0.05 * g.normal(), dz = 0.05 * g.normal();
        p[k] = {p[k][0] + dx, p[k][1] + dy, p[k][2] + dz};
    }
    mirror_left_side(p);
}

// --- pose, projection and the outline ---

Point3 rotate(const Mat3& r, const Point3& p) {
    return {r[0] * p[0] + r[1] * p[1] + r[2] * p[2], r[3] * p[0] + r[4] * p[1] + r[5] * p[2],
            r[6] * p[0] + r[7] * p[1] + r[8] * p[2]};
}

// How far forward the head reaches at height y: in front of the brows, eyes, lips and chin (the nose may stick out).
double front_z(double y) {
    if (y < -4.8) return lerp(4.4, 6.6, std::clamp((y + 7.4) / 2.6, 0.0, 1.0));
    if (y < 4.5) return 6.8;
    return lerp(7.4, 4.8, std::clamp((y - 8.6) / 2.9, 0.0, 1.0));
}

// The outline at a frontal view: jaw 0..32, then the forehead from point 32's side over the top to point 0's side.
std::vector<Point3> frontal_outline(const Shape3& p, int forehead_points) {
    std::vector<Point3> ring(p.begin(), p.begin() + 33);
    const Point3 a = p[0];
    for (int j = 1; j <= forehead_points; ++j) {
        const double psi = kPi * (1 - j / static_cast<double>(forehead_points + 1));
        const double c = std::cos(psi);  // a superellipse: a broad forehead
        ring.push_back(
            {a[0] * sign(c) * std::pow(std::abs(c), 0.6), a[1] + 7.0 * std::sin(psi), a[2] + 4.2 * std::sin(psi)});
    }
    return ring;
}

// Where an outline point goes as the head turns: the silhouette, seen through the camera, of the head's slice through
// it along its outward direction from the head's centre line: a superellipse from the point (its frontal silhouette)
// round to the face's front (docs/pfld_data.md §9).
constexpr double kHeadCentreY = 2.5;

Point3 silhouette_point(const Point3& p, const Mat3& r, double distance) {
    const double rho = std::hypot(p[0], p[1] - kHeadCentreY);
    if (rho < 1e-9) return p;
    const double nx = p[0] / rho, ny = (p[1] - kHeadCentreY) / rho;
    const double ux = r[0] * nx + r[1] * ny, uy = r[3] * nx + r[4] * ny, un = std::hypot(ux, uy);
    if (un < 1e-9) return p;
    const double depth = std::max(0.3, front_z(p[1]) - p[2]);
    Point3 best = p;
    double best_d = -1e300;
    for (int i = 0; i <= 128; ++i) {
        const double theta = kPi * (i / 128.0 - 0.5), c = std::cos(theta), sn = std::sin(theta);
        const double radius = rho * std::sqrt(std::max(c, 0.0));
        const Point3 q = {nx * radius, kHeadCentreY + ny * radius, p[2] + depth * sign(sn) * std::sqrt(std::abs(sn))};
        const Point3 rq = rotate(r, q);
        const double d = (rq[0] * ux + rq[1] * uy) / (distance - rq[2]);
        if (d > best_d) best_d = d, best = q;
    }
    return best;
}

// --- painting: float RGB planes, coverage masks and an anti-aliased scanline polygon filler ---

struct Mask {
    int64_t s;
    std::vector<float> a;
    int64_t x0, y0, x1 = 0, y1 = 0;  // the touched box [x0, x1) x [y0, y1)
    explicit Mask(int64_t size) : s(size), a(static_cast<size_t>(size * size), 0.0f), x0(size), y0(size) {}
    float at(int64_t x, int64_t y) const { return a[static_cast<size_t>(y * s + x)]; }
};

void add_span(std::vector<float>& row, double xa, double xb, float w) {
    const auto n = static_cast<double>(row.size());
    xa = std::max(xa, 0.0), xb = std::min(xb, n);
    if (xa >= xb) return;
    const auto ia = static_cast<int64_t>(xa),
               ib = std::min(static_cast<int64_t>(xb), static_cast<int64_t>(row.size()) - 1);
    if (ia == ib) {
        row[ia] += w * static_cast<float>(xb - xa);
        return;
    }
    row[ia] += w * static_cast<float>(ia + 1 - xa);
    for (int64_t i = ia + 1; i < ib; ++i) row[i] += w;
    row[ib] += w * static_cast<float>(xb - ib);
}

// Coverage of the polygon (even-odd), 4 sub-rows per pixel and exact horizontal coverage, max-combined into m.
void fill_polygon(Mask& m, const std::vector<Point2>& poly) {
    if (poly.size() < 3) return;
    double ymin = poly[0][1], ymax = ymin;
    for (const auto& p : poly) ymin = std::min(ymin, p[1]), ymax = std::max(ymax, p[1]);
    const int64_t r0 = std::max<int64_t>(0, static_cast<int64_t>(std::floor(ymin)));
    const int64_t r1 = std::min<int64_t>(m.s - 1, static_cast<int64_t>(std::floor(ymax)));
    std::vector<float> row(static_cast<size_t>(m.s));
    std::vector<double> xs;
    for (int64_t y = r0; y <= r1; ++y) {
        std::fill(row.begin(), row.end(), 0.0f);
        for (int sub = 0; sub < 4; ++sub) {
            const double ys = y + (sub + 0.5) / 4;
            xs.clear();
            for (size_t i = 0, j = poly.size() - 1; i < poly.size(); j = i++) {
                const Point2 &a = poly[i], &b = poly[j];
                if ((a[1] <= ys) != (b[1] <= ys)) xs.push_back(a[0] + (ys - a[1]) * (b[0] - a[0]) / (b[1] - a[1]));
            }
            std::sort(xs.begin(), xs.end());
            for (size_t k = 0; k + 1 < xs.size(); k += 2) add_span(row, xs[k], xs[k + 1], 0.25f);
        }
        for (int64_t x = 0; x < m.s; ++x) {
            if (row[x] <= 0) continue;
            float& v = m.a[static_cast<size_t>(y * m.s + x)];
            v = std::max(v, std::min(1.0f, row[x]));
            m.x0 = std::min(m.x0, x), m.x1 = std::max(m.x1, x + 1), m.y0 = std::min(m.y0, y),
            m.y1 = std::max(m.y1, y + 1);
        }
    }
}

// A Catmull-Rom curve through the points (each is on it), `steps` pieces per span.
std::vector<Point2> smooth(const std::vector<Point2>& pts, bool closed, int steps = 6) {
    const auto n = static_cast<int64_t>(pts.size());
    auto at = [&](int64_t i) {
        return closed ? pts[static_cast<size_t>((i % n + n) % n)]
                      : pts[static_cast<size_t>(std::clamp<int64_t>(i, 0, n - 1))];
    };
    std::vector<Point2> out;
    for (int64_t i = 0; i < (closed ? n : n - 1); ++i) {
        const Point2 p0 = at(i - 1), p1 = at(i), p2 = at(i + 1), p3 = at(i + 2);
        for (int t = 0; t < steps; ++t) {
            const double u = t / static_cast<double>(steps), u2 = u * u, u3 = u2 * u;
            Point2 q{};
            for (int a = 0; a < 2; ++a)
                q[a] = 0.5 * (2 * p1[a] + (p2[a] - p0[a]) * u + (2 * p0[a] - 5 * p1[a] + 4 * p2[a] - p3[a]) * u2 +
                              (3 * p1[a] - p0[a] - 3 * p2[a] + p3[a]) * u3);
            out.push_back(q);
        }
    }
    if (!closed) out.push_back(pts.back());
    return out;
}

std::vector<Point2> ellipse(const Point2& c, double rx, double ry, double angle = 0, int n = 24) {
    std::vector<Point2> out;
    const double ca = std::cos(angle), sa = std::sin(angle);
    for (int i = 0; i < n; ++i) {
        const double t = 2 * kPi * i / n, x = rx * std::cos(t), y = ry * std::sin(t);
        out.push_back({c[0] + ca * x - sa * y, c[1] + sa * x + ca * y});
    }
    return out;
}

// A line of `width` pixels along the points (quads and round joints).
void stroke(Mask& m, const std::vector<Point2>& pts, double width) {
    const double h = width / 2;
    for (size_t i = 0; i + 1 < pts.size(); ++i) {
        const Point2 &a = pts[i], &b = pts[i + 1];
        const double dx = b[0] - a[0], dy = b[1] - a[1], len = std::hypot(dx, dy);
        if (len < 1e-9) continue;
        const double nx = -dy / len * h, ny = dx / len * h;
        fill_polygon(m,
                     {{a[0] + nx, a[1] + ny}, {b[0] + nx, b[1] + ny}, {b[0] - nx, b[1] - ny}, {a[0] - nx, a[1] - ny}});
    }
    for (const auto& p : pts) fill_polygon(m, ellipse(p, h, h, 0, 12));
}

struct Picture {
    int64_t s;
    std::vector<float> v;  // [3, s, s]
    float& at(int c, int64_t y, int64_t x) { return v[static_cast<size_t>((c * s + y) * s + x)]; }

    // colour over the picture with coverage alpha * m (times clip's coverage when given).
    void paint(const Mask& m, const Color& colour, double alpha = 1, const Mask* clip = nullptr) {
        for (int64_t y = m.y0; y < m.y1; ++y)
            for (int64_t x = m.x0; x < m.x1; ++x) {
                const double a = alpha * m.at(x, y) * (clip ? clip->at(x, y) : 1.0f);
                if (a <= 0) continue;
                for (int c = 0; c < 3; ++c) at(c, y, x) += static_cast<float>(a * (colour[c] - at(c, y, x)));
            }
    }
};

void gaussian_blur(Picture& p, double sigma) { gaussian_blur_planes(p.v, 3, p.s, sigma); }

void motion_blur(Picture& p, double length, double angle) {
    const Picture src = p;
    const int taps = std::max(2, static_cast<int>(std::ceil(length)));
    const double dx = std::cos(angle) * length / (taps - 1), dy = std::sin(angle) * length / (taps - 1);
    for (int c = 0; c < 3; ++c)
        for (int64_t y = 0; y < p.s; ++y)
            for (int64_t x = 0; x < p.s; ++x) {
                double acc = 0;
                for (int t = 0; t < taps; ++t) {
                    const double o = t - (taps - 1) / 2.0;
                    const int64_t xi = std::clamp<int64_t>(std::llround(x + o * dx), 0, p.s - 1);
                    const int64_t yi = std::clamp<int64_t>(std::llround(y + o * dy), 0, p.s - 1);
                    acc += src.v[static_cast<size_t>((c * p.s + yi) * p.s + xi)];
                }
                p.at(c, y, x) = static_cast<float>(acc / taps);
            }
}

// --- backgrounds ---

Picture random_view(const Tensor& photo, int64_t size, Generator& g) {
    return {size, apps::random_view(photo, size, g, 0.4, 1.0)};
}

Picture drawn_background(int64_t size, Generator& g) {  // a gradient with a few soft shapes
    Picture p{size, std::vector<float>(static_cast<size_t>(3 * size * size))};
    Color a{}, b{};
    for (int c = 0; c < 3; ++c) a[c] = uniform(g, 0.1, 0.9), b[c] = uniform(g, 0.1, 0.9);
    const double angle = uniform(g, 0, 2 * kPi), ca = std::cos(angle), sa = std::sin(angle);
    for (int64_t y = 0; y < size; ++y)
        for (int64_t x = 0; x < size; ++x) {
            const double t = std::clamp(0.5 + ((x - size / 2.0) * ca + (y - size / 2.0) * sa) / size, 0.0, 1.0);
            for (int c = 0; c < 3; ++c) p.at(c, y, x) = static_cast<float>(lerp(a[c], b[c], t));
        }
    for (int64_t k = 0, n = g.randint(2, 6); k < n; ++k) {
        Mask m(size);
        fill_polygon(m, ellipse({uniform(g, 0, size), uniform(g, 0, size)}, uniform(g, 0.05, 0.3) * size,
                                uniform(g, 0.05, 0.3) * size, uniform(g, 0, kPi)));
        p.paint(m, {g.uniform(), g.uniform(), g.uniform()}, uniform(g, 0.3, 0.9));
    }
    return p;
}

// --- one face ---

struct Style {
    std::array<bool, 6> flags{};
    Color skin, hair, brow, lips, iris, shadow;
    bool has_hair;
    double light_angle, light_strength;
};

Style draw_style(Generator& g) {
    Style st;
    const double probability[6] = {0.2, 0.25, 0.2, 0.2, 0.2, 0.15};
    for (int k = 0; k < 6; ++k) st.flags[k] = g.uniform() < probability[k];
    st.skin = mix({0.96, 0.80, 0.69}, {0.36, 0.23, 0.16}, g.uniform());
    for (double& c : st.skin) c = std::clamp(c + uniform(g, -0.03, 0.03), 0.0, 1.0);
    const Color hairs[5] = {
        {0.08, 0.06, 0.05}, {0.30, 0.18, 0.10}, {0.75, 0.60, 0.35}, {0.60, 0.60, 0.60}, {0.55, 0.22, 0.10}};
    st.hair = scale(hairs[g.randint(0, 5)], uniform(g, 0.8, 1.15));
    st.has_hair = g.uniform() < 0.85;
    st.brow = mix(scale(st.hair, 0.75), st.skin, uniform(g, 0.1, 0.35));
    st.lips = mix(st.skin, {0.75, 0.35, 0.35}, uniform(g, 0.3, 0.6));
    const Color irises[4] = {{0.35, 0.20, 0.10}, {0.30, 0.45, 0.65}, {0.30, 0.45, 0.30}, {0.15, 0.10, 0.08}};
    st.iris = irises[g.randint(0, 4)];
    if (st.flags[kMakeUp]) {
        const Color lipsticks[3] = {{0.75, 0.05, 0.20}, {0.55, 0.05, 0.35}, {0.85, 0.25, 0.30}};
        st.lips = lipsticks[g.randint(0, 3)];
        st.shadow = {uniform(g, 0.1, 0.8), uniform(g, 0.05, 0.5), uniform(g, 0.2, 0.9)};
    }
    st.light_angle = uniform(g, 0, 2 * kPi);
    st.light_strength = st.flags[kIllumination] ? uniform(g, 0.45, 0.7) : uniform(g, 0.08, 0.25);
    return st;
}

EulerAngles draw_pose(Generator& g, bool large) {
    EulerAngles e;
    e.roll = uniform(g, -25, 25);
    if (!large) {
        e.yaw = uniform(g, -28, 28), e.pitch = uniform(g, -18, 18);
    } else if (g.uniform() < 0.75) {
        e.yaw = (g.uniform() < 0.5 ? -1 : 1) * uniform(g, 32, 60), e.pitch = uniform(g, -18, 18);
    } else {
        e.yaw = uniform(g, -45, 45), e.pitch = (g.uniform() < 0.5 ? -1 : 1) * uniform(g, 22, 32);
    }
    return e;
}

struct Geometry {
    Shape3 shape;
    Mat3 r;
    PinholeCamera camera;
    Landmarks points;
    std::vector<Point2> outline;  // jaw points 0..32 first
    double unit;                  // pixels per template unit
    Point2 up;                    // the head's up direction on the picture
};

Point2 project(const Geometry& geo, const Point3& p) { return project_point(p, geo.r, geo.camera); }

Geometry place_face(const Shape3& shape, const EulerAngles& pose, int64_t size, Generator& g) {
    Geometry geo{shape, euler_to_rotation(pose)};
    geo.unit = uniform(g, 0.34, 0.5) * size / 16.0;
    const double distance = uniform(g, 40, 80);
    geo.camera = {geo.unit * distance, 0, 0, distance};
    std::vector<Point3> ring = frontal_outline(shape, 11);
    for (auto& p : ring) p = silhouette_point(p, geo.r, distance);
    double lo[2] = {1e300, 1e300}, hi[2] = {-1e300, -1e300};
    for (const auto& p : ring) {
        geo.outline.push_back(project(geo, p));
        for (int a = 0; a < 2; ++a)
            lo[a] = std::min(lo[a], geo.outline.back()[a]), hi[a] = std::max(hi[a], geo.outline.back()[a]);
    }
    // The principal point, where the outline's box centre lands on the picture.
    geo.camera.cx = size * uniform(g, 0.4, 0.6) - (lo[0] + hi[0]) / 2;
    geo.camera.cy = size * uniform(g, 0.42, 0.58) - (lo[1] + hi[1]) / 2;
    for (auto& p : geo.outline) p = {p[0] + geo.camera.cx, p[1] + geo.camera.cy};
    for (int64_t k = 0; k < kNumLandmarks; ++k) geo.points[k] = project(geo, shape[k]);
    for (int k = 0; k <= 32; ++k) geo.points[k] = geo.outline[k];
    const double un = std::hypot(geo.r[1], geo.r[4]);
    geo.up = un > 1e-9 ? Point2{-geo.r[1] / un, -geo.r[4] / un} : Point2{0, -1};
    return geo;
}

std::vector<Point2> pick(const Landmarks& p, std::initializer_list<int> indices) {
    std::vector<Point2> out;
    for (int k : indices) out.push_back(p[k]);
    return out;
}

Point2 centroid(const std::vector<Point2>& pts) {
    Point2 c{0, 0};
    for (const auto& p : pts) c[0] += p[0] / pts.size(), c[1] += p[1] / pts.size();
    return c;
}

void paint_hair_and_neck(Picture& pic, Mask& head, const Geometry& geo, const Style& st) {
    const Point2 c = centroid(geo.outline);
    if (st.has_hair) {  // a cap behind the face: the upper outline pushed out and up
        std::vector<Point2> cap;
        const auto n = geo.outline.size();
        for (size_t i = 0; i < n; ++i) {
            if (i > 5 && i < 27) continue;
            const double lift = i >= 33 ? std::sin(kPi * (i - 32.0) / (n - 32.0)) : 0.0;
            const Point2 p = geo.outline[i];
            cap.push_back({c[0] + (p[0] - c[0]) * 1.1 + geo.up[0] * geo.unit * 1.4 * lift,
                           c[1] + (p[1] - c[1]) * 1.1 + geo.up[1] * geo.unit * 1.4 * lift});
        }
        std::rotate(cap.begin(), cap.begin() + 6, cap.end());  // from the right side over the top to the left
        Mask m(pic.s);
        fill_polygon(m, smooth(cap, true));
        pic.paint(m, st.hair);
        fill_polygon(head, smooth(cap, true));
    }
    const Point2 a = lerp2(geo.points[8], c, 0.15), b = lerp2(geo.points[24], c, 0.15);
    const Point2 down = {-geo.up[0] * geo.unit * 12, -geo.up[1] * geo.unit * 12};
    Mask neck(pic.s);
    fill_polygon(neck, {a, b, {b[0] + down[0], b[1] + down[1]}, {a[0] + down[0], a[1] + down[1]}});
    pic.paint(neck, scale(st.skin, 0.8));
}

void paint_eye(Picture& pic, const Geometry& geo, const Style& st, bool left) {
    const Landmarks& p = geo.points;
    const int o = left ? 60 : 68, pupil = left ? 96 : 97;
    std::vector<Point2> contour;
    for (int k = 0; k < 8; ++k) contour.push_back(p[o + k]);
    const double u = geo.unit;
    if (st.flags[kMakeUp]) {  // eye shadow between the upper lid and the brow
        const std::vector<int> lid = left ? std::vector<int>{60, 61, 62, 63, 64} : std::vector<int>{68, 69, 70, 71, 72};
        const std::vector<int> brow = left ? std::vector<int>{38, 39, 40, 41} : std::vector<int>{47, 48, 49, 50};
        std::vector<Point2> shadow;
        for (int k : lid) shadow.push_back(p[k]);
        for (int k : brow) shadow.push_back(lerp2(p[k], centroid(contour), 0.5));
        Mask m(pic.s);
        fill_polygon(m, smooth(shadow, true));
        pic.paint(m, st.shadow, 0.5);
    }
    Mask white(pic.s);
    fill_polygon(white, smooth(contour, true));
    pic.paint(white, {0.93, 0.91, 0.88});
    std::vector<Point2> iris, hole;
    for (int i = 0; i < 20; ++i) {
        const double t = 2 * kPi * i / 20;
        iris.push_back(project(geo, {geo.shape[pupil][0] + 0.62 * std::cos(t), geo.shape[pupil][1] + 0.62 * std::sin(t),
                                     geo.shape[pupil][2]}));
        hole.push_back(project(geo, {geo.shape[pupil][0] + 0.24 * std::cos(t), geo.shape[pupil][1] + 0.24 * std::sin(t),
                                     geo.shape[pupil][2]}));
    }
    Mask iris_mask(pic.s), hole_mask(pic.s);
    fill_polygon(iris_mask, iris);
    fill_polygon(hole_mask, hole);
    pic.paint(iris_mask, st.iris, 1, &white);
    pic.paint(hole_mask, {0.03, 0.03, 0.03}, 1, &white);
    Mask lash(pic.s), lower(pic.s);
    stroke(lash, smooth(std::vector<Point2>(contour.begin(), contour.begin() + 5), false),
           (st.flags[kMakeUp] ? 0.32 : 0.17) * u);
    stroke(lower, smooth({contour[4], contour[5], contour[6], contour[7], contour[0]}, false), 0.08 * u);
    pic.paint(lash, {0.1, 0.07, 0.06}, 0.9);
    pic.paint(lower, scale(st.skin, 0.6), 0.6);
}

void paint_brow(Picture& pic, const Geometry& geo, const Style& st, bool left) {
    std::vector<Point2> contour;
    for (int k = 0; k < 9; ++k) contour.push_back(geo.points[(left ? 33 : 42) + k]);
    Mask m(pic.s);
    fill_polygon(m, smooth(contour, true));
    pic.paint(m, st.brow, 0.92);
}

void paint_nose(Picture& pic, const Geometry& geo, const Style& st) {
    const Landmarks& p = geo.points;
    const double u = geo.unit;
    Mask flank_left(pic.s), flank_right(pic.s), ridge(pic.s), base(pic.s), nostrils(pic.s), tip(pic.s);
    fill_polygon(flank_left, pick(p, {51, 52, 53, 54, 57, 56, 55}));  // skin where the nose stands out
    fill_polygon(flank_right, pick(p, {51, 52, 53, 54, 57, 58, 59}));
    pic.paint(flank_left, scale(st.skin, 0.97));
    pic.paint(flank_right, scale(st.skin, 1.02));
    stroke(ridge, smooth(pick(p, {51, 52, 53, 54}), false), 0.3 * u);
    stroke(base, smooth(pick(p, {55, 56, 57, 58, 59}), false), 0.22 * u);
    for (const auto& [a, b] : {std::pair{55, 56}, std::pair{59, 58}}) {
        const Point2 m = lerp2(p[a], p[b], 0.45);
        const double angle = std::atan2(p[b][1] - p[a][1], p[b][0] - p[a][0]);
        fill_polygon(nostrils, ellipse({m[0] + geo.up[0] * 0.12 * u, m[1] + geo.up[1] * 0.12 * u}, 0.36 * u, 0.17 * u,
                                       angle, 16));
    }
    fill_polygon(tip, ellipse(p[54], 0.38 * u, 0.3 * u, 0, 16));
    pic.paint(ridge, scale(st.skin, 0.72), 0.55);
    pic.paint(tip, scale(st.skin, 1.12), 0.35);
    pic.paint(base, scale(st.skin, 0.55), 0.7);
    pic.paint(nostrils, scale(st.skin, 0.3), 0.85);
}

void paint_mouth(Picture& pic, const Geometry& geo, const Style& st) {
    const Landmarks& p = geo.points;
    const double u = geo.unit;
    Mask lips(pic.s), upper(pic.s);
    fill_polygon(lips, smooth(pick(p, {76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87}), true));
    fill_polygon(upper, smooth(pick(p, {76, 77, 78, 79, 80, 81, 82, 92, 91, 90, 89, 88}), true));
    pic.paint(lips, st.lips);
    pic.paint(upper, scale(st.lips, 0.82));
    const double gap = std::hypot(p[94][0] - p[90][0], p[94][1] - p[90][1]);
    if (gap > 0.15 * u) {
        Mask inside(pic.s), teeth(pic.s);
        fill_polygon(inside, smooth(pick(p, {88, 89, 90, 91, 92, 93, 94, 95}), true));
        std::vector<Point2> band = pick(p, {88, 89, 90, 91, 92});
        const double depth = std::min(gap * 0.5, 0.45 * u);
        for (int k : {92, 91, 90, 89, 88}) band.push_back({p[k][0] - geo.up[0] * depth, p[k][1] - geo.up[1] * depth});
        fill_polygon(teeth, smooth(band, true));
        pic.paint(inside, {0.22, 0.06, 0.06});
        pic.paint(teeth, {0.92, 0.90, 0.84}, 1, &inside);
    } else {
        Mask seam(pic.s);
        stroke(seam, smooth(pick(p, {88, 89, 90, 91, 92}), false), 0.12 * u);
        pic.paint(seam, scale(st.lips, 0.4), 0.9);
    }
}

// A directional light over the head: brighter toward the light, darker toward the outline.
void light_head(Picture& pic, const Mask& head, const Geometry& geo, const Style& st) {
    const Point2 c = centroid(geo.outline);
    double radius = 0;
    for (const auto& p : geo.outline) radius = std::max(radius, std::hypot(p[0] - c[0], p[1] - c[1]));
    const double lx = std::cos(st.light_angle), ly = std::sin(st.light_angle);
    for (int64_t y = head.y0; y < head.y1; ++y)
        for (int64_t x = head.x0; x < head.x1; ++x) {
            const double a = head.at(x, y);
            if (a <= 0) continue;
            const double dx = (x + 0.5 - c[0]) / radius, dy = (y + 0.5 - c[1]) / radius;
            const double f = std::clamp(1 + st.light_strength * (dx * lx + dy * ly), 0.25, 1.5) *
                             (1 - 0.18 * std::pow(std::min(1.0, dx * dx + dy * dy), 2));
            for (int ch = 0; ch < 3; ++ch) pic.at(ch, y, x) *= static_cast<float>(1 + (f - 1) * a);
        }
}

void paint_occluder(Picture& pic, const Geometry& geo, const Style& st, const std::vector<Tensor>& backgrounds,
                    Generator& g) {
    const Landmarks& p = geo.points;
    const double u = geo.unit;
    Mask m(pic.s);
    const int64_t kind = g.randint(0, 3);
    if (kind == 0) {  // sunglasses
        for (int k : {96, 97})
            fill_polygon(m, ellipse(p[k], 2.1 * u, 1.35 * u, std::atan2(p[97][1] - p[96][1], p[97][0] - p[96][0]), 24));
        stroke(m, {p[96], p[97]}, 0.35 * u);
        pic.paint(m, scale({0.1, 0.1, 0.12}, uniform(g, 0.5, 1.5)), 0.95);
        return;
    }
    // A patch (a photo's texture or a hand-coloured blob) over a random part of the face.
    static const int kParts[] = {96, 97, 54, 85, 79, 8, 24, 62, 70};
    const Point2 c = p[kParts[g.randint(0, 9)]];
    const double rx = uniform(g, 2.5, 5.0) * u, ry = uniform(g, 2.0, 4.5) * u;
    fill_polygon(m, kind == 1 ? std::vector<Point2>{{c[0] - rx, c[1] - ry},
                                                    {c[0] + rx, c[1] - ry},
                                                    {c[0] + rx, c[1] + ry},
                                                    {c[0] - rx, c[1] + ry}}
                              : ellipse(c, rx, ry, uniform(g, 0, kPi)));
    if (kind == 1 && !backgrounds.empty()) {
        const Picture texture = random_view(
            backgrounds[static_cast<size_t>(g.randint(0, static_cast<int64_t>(backgrounds.size())))], pic.s, g);
        for (int64_t y = m.y0; y < m.y1; ++y)
            for (int64_t x = m.x0; x < m.x1; ++x)
                for (int ch = 0; ch < 3; ++ch) {
                    float& v = pic.at(ch, y, x);
                    v += m.at(x, y) * (texture.v[static_cast<size_t>((ch * pic.s + y) * pic.s + x)] - v);
                }
        return;
    }
    pic.paint(m, kind == 2 ? scale(st.skin, uniform(g, 0.85, 1.05)) : Color{g.uniform(), g.uniform(), g.uniform()});
}

void global_effects(Picture& pic, const Style& st, Generator& g) {
    if (st.flags[kIllumination]) {  // on top of the strong side light: exposure or a colour cast
        const double gamma = g.uniform() < 0.5 ? uniform(g, 0.45, 0.7) : uniform(g, 1.6, 2.4);
        Color cast{};
        for (double& c : cast) c = uniform(g, 0.8, 1.2);
        for (int c = 0; c < 3; ++c)
            for (int64_t i = 0; i < pic.s * pic.s; ++i) {
                float& v = pic.v[static_cast<size_t>(c * pic.s * pic.s + i)];
                v = static_cast<float>(std::pow(std::clamp(v * cast[c], 0.0, 1.0), gamma));
            }
    }
    if (st.flags[kBlur]) {
        if (g.uniform() < 0.7)
            gaussian_blur(pic, uniform(g, 1.5, 3.0));
        else
            motion_blur(pic, uniform(g, 5, 10), uniform(g, 0, kPi));
    }
    // Sensor noise, about normal: the sum of four 16-bit uniforms from one draw, scaled to unit variance.
    const double noise = uniform(g, 0, 0.02) * std::sqrt(12.0 / 4) / 65536;
    for (float& v : pic.v) {
        const uint64_t bits = g.next_u64();
        const double sum =
            static_cast<double>((bits & 0xffff) + (bits >> 16 & 0xffff) + (bits >> 32 & 0xffff) + (bits >> 48));
        v = static_cast<float>(std::clamp(v + noise * (sum - 2 * 65535.0), 0.0, 1.0));
    }
}

}  // namespace

const Shape3& mean_face() {
    static const Shape3 face = build_mean_face();
    return face;
}

Point2 project_point(const Point3& p, const std::array<double, 9>& r, const PinholeCamera& c) {
    const Point3 q = rotate(r, p);
    const double depth = c.distance - q[2];
    return {c.cx - c.focal * q[0] / depth, c.cy - c.focal * q[1] / depth};
}

Landmarks project_face(const Shape3& shape, const EulerAngles& angles, const PinholeCamera& camera) {
    const Mat3 r = euler_to_rotation(angles);
    Landmarks out{};
    for (int64_t k = 0; k < kNumLandmarks; ++k) out[k] = project_point(shape[k], r, camera);
    return out;
}

std::vector<Tensor> load_backgrounds(const std::string& photos, int64_t size) {
    std::vector<Tensor> out;
    if (photos.empty()) return out;
    if (!fs::is_directory(photos))
        throw Error(fmt::format("generate_faces: the photos folder {} does not exist", photos));
    for (const auto& path : data::list_images(photos)) {
        const std::string stem = fs::path(path).stem().string();
        if (stem == "horse_silhouette" || stem == "astronaut" || stem == "grace_hopper") continue;  // not backgrounds
        Tensor photo = data::to_tensor(data::read_image(path, data::ImageMode::RGB));
        const double shrink = 1.5 * size / static_cast<double>(std::min(photo.size(1), photo.size(2)));
        if (shrink < 1)
            photo = data::resize(photo, {std::lround(photo.size(1) * shrink), std::lround(photo.size(2) * shrink)},
                                 data::Interpolation::Bilinear, /*antialias=*/true);
        out.push_back(photo.contiguous());
    }
    return out;
}

SynthFace synthesize_face(int64_t size, Generator& g, const std::vector<Tensor>& backgrounds) {
    const Style st = draw_style(g);
    Shape3 shape = mean_face();
    apply_identity(shape, draw_identity(g));
    const Expression expression = draw_expression(g, st.flags[kExpression]);
    apply_expression(shape, expression);
    jitter_points(shape, g);
    const EulerAngles pose = draw_pose(g, st.flags[kPose]);
    const Geometry geo = place_face(shape, pose, size, g);

    Picture pic =
        backgrounds.empty()
            ? drawn_background(size, g)
            : random_view(backgrounds[static_cast<size_t>(g.randint(0, static_cast<int64_t>(backgrounds.size())))],
                          size, g);
    Mask head(size), skin(size);
    paint_hair_and_neck(pic, head, geo, st);
    fill_polygon(skin, smooth(geo.outline, true));
    fill_polygon(head, smooth(geo.outline, true));
    pic.paint(skin, st.skin);
    // The parts back to front by their mean depth after the turn.
    auto depth = [&](std::initializer_list<int> ks) {
        double z = 0;
        for (int k : ks) z += rotate(geo.r, shape[k])[2] / ks.size();
        return z;
    };
    std::vector<std::pair<double, int>> parts = {{depth({33, 37, 41}), 0}, {depth({42, 46, 50}), 1},
                                                 {depth({60, 64, 96}), 2}, {depth({68, 72, 97}), 3},
                                                 {depth({51, 54, 57}), 4}, {depth({76, 82, 85}), 5}};
    std::sort(parts.begin(), parts.end());
    for (const auto& [z, part] : parts) {
        if (part <= 1)
            paint_brow(pic, geo, st, part == 0);
        else if (part <= 3)
            paint_eye(pic, geo, st, part == 2);
        else if (part == 4)
            paint_nose(pic, geo, st);
        else
            paint_mouth(pic, geo, st);
    }
    light_head(pic, head, geo, st);
    if (st.flags[kOcclusion]) paint_occluder(pic, geo, st, backgrounds, g);
    global_effects(pic, st, g);

    SynthFace face{data::to_uint8(from_vector(pic.v, {3, size, size})), geo.points, pose, {}, geo.outline};
    for (int k = 0; k < 6; ++k) face.attributes[k] = st.flags[k];
    return face;
}

namespace {

uint64_t splitmix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

struct Record {
    Landmarks points;
    std::array<int64_t, 6> attributes;
    EulerAngles euler;
};

void write_lists(const fs::path& lists, const std::string& split, const std::vector<Record>& records) {
    std::ofstream list(lists / fmt::format("list_98pt_rect_attr_{}.txt", split));
    std::ofstream angles(euler_sidecar_path((lists / fmt::format("list_98pt_rect_attr_{}.txt", split)).string()));
    if (!list || !angles) throw Error(fmt::format("generate_faces: cannot write the lists in {}", lists.string()));
    for (size_t n = 0; n < records.size(); ++n) {
        const Record& r = records[n];
        double lo[2] = {1e300, 1e300}, hi[2] = {-1e300, -1e300};
        for (const auto& p : r.points) {
            list << fmt::format("{:.3f} {:.3f} ", p[0], p[1]);
            for (int a = 0; a < 2; ++a) lo[a] = std::min(lo[a], p[a]), hi[a] = std::max(hi[a], p[a]);
        }
        list << fmt::format("{} {} {} {} ", std::floor(lo[0]), std::floor(lo[1]), std::ceil(hi[0]), std::ceil(hi[1]));
        for (int64_t a : r.attributes) list << a << ' ';
        list << fmt::format("synth/{}_{:05}.jpg\n", split, n);
        angles << fmt::format("{:.4f} {:.4f} {:.4f}\n", r.euler.pitch, r.euler.yaw, r.euler.roll);
    }
}

}  // namespace

void generate_faces(const std::string& dir, const FaceSynthOptions& o) {
    NB_CHECK_VALUE(o.train >= 1 && o.test >= 1 && o.size >= 64,
                   "generate_faces: need train >= 1, test >= 1 and size >= 64; got ", o.train, ", ", o.test, ", ",
                   o.size);
    const std::vector<Tensor> backgrounds = load_backgrounds(o.photos, o.size);
    const fs::path images = fs::path(dir) / "WFLW_images" / "synth";
    const fs::path lists = fs::path(dir) / "WFLW_annotations" / "list_98pt_rect_attr_train_test";
    fs::create_directories(images);
    fs::create_directories(lists);
    ProgressBar bar("generating faces", o.train + o.test);
    for (const auto& [split, count, salt] : {std::tuple{"train", o.train, 1}, std::tuple{"test", o.test, 2}}) {
        std::vector<Record> records(static_cast<size_t>(count));
        std::exception_ptr failure;
#pragma omp parallel for schedule(dynamic, 4)
        for (int64_t n = 0; n < count; ++n) {
            try {
                Generator g(splitmix(splitmix(o.seed) ^
                                     splitmix(static_cast<uint64_t>(salt) << 40 | static_cast<uint64_t>(n))));
                const SynthFace face = synthesize_face(o.size, g, backgrounds);
                data::write_jpeg((images / fmt::format("{}_{:05}.jpg", split, n)).string(), face.image, 95);
                records[static_cast<size_t>(n)] = {face.points, face.attributes, face.euler};
#pragma omp critical
                bar.update();
            } catch (...) {
#pragma omp critical
                failure = std::current_exception();
            }
        }
        if (failure) std::rethrow_exception(failure);
        write_lists(lists, split, records);
    }
    bar.close();
}

}  // namespace nabla::apps
