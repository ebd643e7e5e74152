// apps/landmarks_data.cpp — the WFLW and prepared-list readers, the data finder, PFLD's crop and augmentation, its
// Euler-angle labels, and LandmarkDataset. docs/pfld_data.md describes each rule.
#include "apps/landmarks_data.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numbers>

#include "nn/data/image.h"
#include "nn/data/transforms.h"
#include "ops/factory.h"
#include "ops/ops.h"

namespace nabla::apps {
namespace fs = std::filesystem;

namespace {

constexpr double kPi = std::numbers::pi;
constexpr double kDeg = 180.0 / kPi;

// --- parsing ---

std::vector<std::string_view> split_fields(std::string_view line) {
    std::vector<std::string_view> fields;
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
        const size_t start = i;
        while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i]))) ++i;
        if (i > start) fields.push_back(line.substr(start, i - start));
    }
    return fields;
}

struct LineReader {  // names the file and line in every error
    std::string file;
    int64_t line = 0;
    [[noreturn]] void fail(const std::string& what) const { throw Error(fmt::format("{}:{}: {}", file, line, what)); }

    // A float32 value, as numpy reads the annotations. Pixels, normalised coordinates and degrees all lie far within
    // +-2^30: a value beyond is corrupt (and would overflow the integer conversions of boxes and crops).
    double number(std::string_view field, size_t index, const char* what) const {
        float value = 0;
        auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
        if (ec != std::errc() || end != field.data() + field.size() || !std::isfinite(value))
            fail(fmt::format("field {} ({}) is '{}', not a number", index + 1, what, field));
        if (std::fabs(value) > 1073741824.0f)
            fail(fmt::format("field {} ({}) is '{}', beyond +-2^30", index + 1, what, field));
        return value;
    }
    int64_t integer(std::string_view field, size_t index, const char* what) const {
        const double v = number(field, index, what);
        return static_cast<int64_t>(v);  // WFLW's boxes are integers; a decimal one is truncated as int() does
    }
    int64_t flag(std::string_view field, size_t index, const char* what) const {
        if (field != "0" && field != "1")
            fail(fmt::format("field {} ({} flag) is '{}', expected 0 or 1", index + 1, what, field));
        return field == "1";
    }
    EulerAngles euler(const std::vector<std::string_view>& fields, size_t first) const {  // pitch yaw roll
        return {number(fields[first], first, "pitch"), number(fields[first + 1], first + 1, "yaw"),
                number(fields[first + 2], first + 2, "roll")};
    }
    Landmarks points(const std::vector<std::string_view>& fields, size_t first) const {
        Landmarks p{};
        for (size_t k = 0; k < static_cast<size_t>(2 * kNumLandmarks); ++k)
            p[k / 2][k % 2] = number(fields[first + k], first + k, k % 2 == 0 ? "landmark x" : "landmark y");
        return p;
    }
};

// Calls record(fields, reader) for each non-blank line of a list file; the reader knows the line, for errors.
template <class F>
void for_each_record(const std::string& path, const char* fn, F&& record) {
    std::ifstream f(path);
    if (!f) throw Error(fmt::format("{}: cannot read {}", fn, path));
    LineReader r{path};
    for (std::string line; std::getline(f, line);) {
        ++r.line;
        const auto fields = split_fields(line);
        if (!fields.empty()) record(fields, r);
    }
}

void report_missing(const std::vector<std::string>& missing, const std::string& list, const char* fn) {
    if (missing.empty()) return;
    const size_t shown = std::min<size_t>(missing.size(), 10);
    throw Error(fmt::format("{}: {} image(s) of {} do not exist: {}{}", fn, missing.size(), list,
                            fmt::join(missing.begin(), missing.begin() + static_cast<ptrdiff_t>(shown), ", "),
                            missing.size() > shown ? ", ..." : ""));
}

std::array<int64_t, 4> extent_box(const Landmarks& p) {
    double x0 = p[0][0], y0 = p[0][1], x1 = x0, y1 = y0;
    for (const auto& q : p)
        x0 = std::min(x0, q[0]), y0 = std::min(y0, q[1]), x1 = std::max(x1, q[0]), y1 = std::max(y1, q[1]);
    return {static_cast<int64_t>(std::floor(x0)), static_cast<int64_t>(std::floor(y0)),
            static_cast<int64_t>(std::ceil(x1)), static_cast<int64_t>(std::ceil(y1))};
}

void read_euler_sidecar(const std::string& path, std::vector<FaceAnnotation>& faces) {
    size_t n = 0;
    for_each_record(path, "read_wflw_annotations", [&](const auto& fields, const LineReader& r) {
        if (fields.size() != 3) r.fail(fmt::format("has {} fields, expected 3 (pitch yaw roll)", fields.size()));
        if (n >= faces.size()) r.fail(fmt::format("more angle lines than the {} faces of the list", faces.size()));
        faces[n++].euler = r.euler(fields, 0);
    });
    if (n != faces.size())
        throw Error(fmt::format("read_wflw_annotations: {} has {} angle lines for {} faces", path, n, faces.size()));
}

}  // namespace

std::string euler_sidecar_path(const std::string& list_path) {
    fs::path p(list_path);
    return (p.parent_path() / (p.stem().string() + "_euler.txt")).string();
}

std::vector<FaceAnnotation> read_wflw_annotations(const std::string& list_path, const std::string& image_root) {
    std::vector<FaceAnnotation> faces;
    std::vector<std::string> missing;
    constexpr size_t kCoords = 2 * kNumLandmarks;
    for_each_record(list_path, "read_wflw_annotations", [&](const auto& fields, const LineReader& r) {
        if (fields.size() != kCoords + 11 && fields.size() != kCoords + 1)
            r.fail(
                fmt::format("has {} fields, expected {} (196 coordinates, 4 box, 6 attribute flags, image path) or "
                            "{} (coordinates, image path)",
                            fields.size(), kCoords + 11, kCoords + 1));
        FaceAnnotation face;
        face.points = r.points(fields, 0);
        if (fields.size() == kCoords + 11) {
            for (size_t k = 0; k < 4; ++k) face.box[k] = r.integer(fields[kCoords + k], kCoords + k, "box");
            for (size_t k = 0; k < 6; ++k)
                face.attributes[k] = r.flag(fields[kCoords + 4 + k], kCoords + 4 + k, kFaceAttributeNames[k]);
        } else {
            face.box = extent_box(face.points);
        }
        face.image = (fs::path(image_root) / std::string(fields.back())).string();
        if (!fs::is_regular_file(face.image)) missing.push_back(face.image);
        faces.push_back(std::move(face));
    });
    report_missing(missing, list_path, "read_wflw_annotations");
    if (faces.empty()) throw Error(fmt::format("read_wflw_annotations: {} lists no faces", list_path));
    if (const std::string sidecar = euler_sidecar_path(list_path); fs::is_regular_file(sidecar))
        read_euler_sidecar(sidecar, faces);
    return faces;
}

std::vector<FaceAnnotation> read_prepared_list(const std::string& list_path) {
    const fs::path base = fs::path(list_path).parent_path();
    std::vector<FaceAnnotation> faces;
    std::vector<std::string> missing;
    constexpr size_t kCoords = 2 * kNumLandmarks;
    for_each_record(list_path, "read_prepared_list", [&](const auto& fields, const LineReader& r) {
        if (fields.size() != kCoords + 10)
            r.fail(
                fmt::format("has {} fields, expected {} (image path, 196 normalised coordinates, 6 attribute "
                            "flags, pitch yaw roll)",
                            fields.size(), kCoords + 10));
        FaceAnnotation face;
        face.cropped = true;
        face.points = r.points(fields, 1);
        for (size_t k = 0; k < 6; ++k)
            face.attributes[k] = r.flag(fields[kCoords + 1 + k], kCoords + 1 + k, kFaceAttributeNames[k]);
        face.euler = r.euler(fields, kCoords + 7);
        face.box = {0, 0, kLandmarkCrop, kLandmarkCrop};
        const fs::path written{std::string(fields[0])};
        for (const fs::path& candidate :
             std::vector<fs::path>{written, base / written, base / "imgs" / written.filename()})
            if (fs::is_regular_file(candidate)) {
                face.image = candidate.string();
                break;
            }
        if (face.image.empty()) {
            missing.push_back(written.string());
            face.image = written.string();
        }
        faces.push_back(std::move(face));
    });
    report_missing(missing, list_path, "read_prepared_list");
    if (faces.empty()) throw Error(fmt::format("read_prepared_list: {} lists no faces", list_path));
    return faces;
}

LandmarkData find_landmark_data(const std::string& dir) {
    if (!fs::is_directory(dir)) throw Error(fmt::format("landmark data: {} is not a folder", dir));
    for (const fs::path& root : {fs::path(dir), fs::path(dir) / "WFLW"}) {
        const fs::path lists = root / "WFLW_annotations" / "list_98pt_rect_attr_train_test";
        if (!fs::is_directory(lists)) continue;
        LandmarkData data{"wflw", (lists / "list_98pt_rect_attr_train.txt").string(),
                          (lists / "list_98pt_rect_attr_test.txt").string()};
        std::vector<std::string> lacking;
        for (const auto& list : {data.train_list, data.test_list})
            if (!fs::is_regular_file(list)) lacking.push_back(list);
        if (!fs::is_directory(root / "WFLW_images")) lacking.push_back((root / "WFLW_images").string() + "/");
        if (!lacking.empty())
            throw Error(
                fmt::format("landmark data: the WFLW folder {} lacks {}", root.string(), fmt::join(lacking, ", ")));
        const std::string images = (root / "WFLW_images").string();
        data.train = read_wflw_annotations(data.train_list, images);
        data.test = read_wflw_annotations(data.test_list, images);
        return data;
    }
    for (const auto& [train, test] : {std::pair{"train_data", "test_data"}, std::pair{"train", "test"}}) {
        const fs::path train_list = fs::path(dir) / train / "list.txt", test_list = fs::path(dir) / test / "list.txt";
        if (!fs::is_regular_file(train_list) && !fs::is_regular_file(test_list)) continue;
        for (const auto& list : {train_list, test_list})
            if (!fs::is_regular_file(list))
                throw Error(fmt::format("landmark data: {} has {} but no {}", dir,
                                        (list == train_list ? test_list : train_list).string(), list.string()));
        return {"prepared", train_list.string(), test_list.string(), read_prepared_list(train_list.string()),
                read_prepared_list(test_list.string())};
    }
    throw Error(fmt::format(
        "landmark data: {} has no WFLW_annotations/list_98pt_rect_attr_train_test/ (a WFLW folder, as `nabla generate "
        "faces` writes), no train_data/list.txt + test_data/list.txt and no train/list.txt + test/list.txt (PFLD's "
        "prepared lists)",
        dir));
}

const std::vector<int64_t>& wflw_mirror_map() {
    static const std::vector<int64_t> map = [] {
        std::vector<int64_t> m(kNumLandmarks);
        for (int64_t k = 0; k < kNumLandmarks; ++k) m[k] = k;
        auto pair = [&](int64_t a, int64_t b) { m[a] = b, m[b] = a; };
        for (int64_t i = 0; i < 16; ++i) pair(i, 32 - i);  // jaw
        for (auto [a, b] : {std::pair{33, 46}, {34, 45}, {35, 44}, {36, 43}, {37, 42}, {38, 50}, {39, 49},
                            {40, 48},          {41, 47}, {55, 59}, {56, 58}, {60, 72}, {61, 71}, {62, 70},
                            {63, 69},          {64, 68}, {65, 75}, {66, 74}, {67, 73}, {76, 82}, {77, 81},
                            {78, 80},          {83, 87}, {84, 86}, {88, 92}, {89, 91}, {93, 95}, {96, 97}})
            pair(a, b);
        return m;
    }();
    return map;
}

// --- the crop ---

namespace {

int64_t trunc_int(double v) { return static_cast<int64_t>(v); }  // toward zero, as numpy's astype(int32)

struct BaseGeometry {
    int64_t cx, cy, size;
};

BaseGeometry base_geometry(const Landmarks& p) {
    double lo[2] = {p[0][0], p[0][1]}, hi[2] = {p[0][0], p[0][1]};
    for (const auto& q : p)
        for (int a = 0; a < 2; ++a) lo[a] = std::min(lo[a], q[a]), hi[a] = std::max(hi[a], q[a]);
    int64_t centre[2], wh[2];
    for (int a = 0; a < 2; ++a) {
        const int64_t l = trunc_int(lo[a]), h = trunc_int(hi[a]);
        wh[a] = h - l + 1;
        centre[a] = trunc_int(static_cast<double>(l) + static_cast<double>(wh[a]) / 2.0);
    }
    return {centre[0], centre[1], trunc_int(static_cast<double>(std::max(wh[0], wh[1])) * 1.2)};
}

// Bilinear tap of a [H, W] plane at continuous (x, y), zero outside (cv2.warpAffine's BORDER_CONSTANT).
float sample_zero(const float* plane, int64_t h, int64_t w, double x, double y) {
    const double sx = x - 0.5, sy = y - 0.5;
    const double fx = std::floor(sx), fy = std::floor(sy);
    const auto x0 = static_cast<int64_t>(fx), y0 = static_cast<int64_t>(fy);
    const double ax = sx - fx, ay = sy - fy;
    double v = 0;
    for (int dy = 0; dy < 2; ++dy)
        for (int dx = 0; dx < 2; ++dx) {
            const int64_t xi = x0 + dx, yi = y0 + dy;
            if (xi < 0 || yi < 0 || xi >= w || yi >= h) continue;
            v += (dx ? ax : 1 - ax) * (dy ? ay : 1 - ay) * plane[yi * w + xi];
        }
    return static_cast<float>(v);
}

// The window of the image rotated by m (forward map p' = A p + b) into a canvas_w x canvas_h canvas, resampled to
// out x out in one bilinear step.
Tensor rotated_window(const Tensor& image, const std::array<double, 6>& m, const CropWindow& win, int64_t canvas_w,
                      int64_t canvas_h, int64_t out) {
    const Tensor src = image.to(kFloat32).contiguous();
    const int64_t c = src.size(0), h = src.size(1), w = src.size(2);
    Tensor dst = zeros({c, out, out});
    float* d = dst.data_ptr<float>();
    const float* s = src.data_ptr<float>();
    const double scale = static_cast<double>(win.size) / static_cast<double>(out);
    for (int64_t i = 0; i < out; ++i)
        for (int64_t j = 0; j < out; ++j) {
            const double px = win.x + (j + 0.5) * scale, py = win.y + (i + 0.5) * scale;  // in the canvas
            if (px < 0 || py < 0 || px >= static_cast<double>(canvas_w) || py >= static_cast<double>(canvas_h))
                continue;
            const double qx = px - m[2], qy = py - m[5];  // the inverse of the rotation: A^T (p - b)
            const double x = m[0] * qx + m[3] * qy, y = m[1] * qx + m[4] * qy;
            for (int64_t k = 0; k < c; ++k) d[(k * out + i) * out + j] = sample_zero(s + k * h * w, h, w, x, y);
        }
    return dst;
}

bool inside_unit(const Landmarks& p) {
    return std::all_of(p.begin(), p.end(),
                       [](const Point2& q) { return q[0] >= 0 && q[0] <= 1 && q[1] >= 0 && q[1] <= 1; });
}

FaceCrop mirror(FaceCrop crop) {
    const auto& map = wflw_mirror_map();
    Landmarks flipped{};
    for (int64_t k = 0; k < kNumLandmarks; ++k) {
        flipped[k] = crop.points[map[k]];
        flipped[k][0] = 1.0 - flipped[k][0];
    }
    crop.points = flipped;
    crop.image = data::hflip(crop.image).contiguous();
    crop.flipped = true;
    return crop;
}

}  // namespace

CropWindow base_crop_window(const Landmarks& points) {
    const BaseGeometry g = base_geometry(points);
    return {g.cx - g.size / 2, g.cy - g.size / 2, g.size};
}

Landmarks normalize_to_window(const Landmarks& points, const CropWindow& w) {
    Landmarks out{};
    const double s = static_cast<double>(w.size);
    for (int64_t k = 0; k < kNumLandmarks; ++k)
        out[k] = {(points[k][0] - static_cast<double>(w.x)) / s, (points[k][1] - static_cast<double>(w.y)) / s};
    return out;
}

Landmarks denormalize_from_window(const Landmarks& points, const CropWindow& w) {
    Landmarks out{};
    const double s = static_cast<double>(w.size);
    for (int64_t k = 0; k < kNumLandmarks; ++k)
        out[k] = {static_cast<double>(w.x) + points[k][0] * s, static_cast<double>(w.y) + points[k][1] * s};
    return out;
}

CropWindow square_window(const std::array<double, 4>& box, double scale) {
    const double cx = (box[0] + box[2]) / 2, cy = (box[1] + box[3]) / 2;
    const auto side = static_cast<int64_t>(std::max(box[2] - box[0], box[3] - box[1]) * scale);
    return {static_cast<int64_t>(std::floor(cx - side / 2.0)), static_cast<int64_t>(std::floor(cy - side / 2.0)), side};
}

Tensor crop_window(const Tensor& image, const CropWindow& w, int64_t out) {
    NB_CHECK(image.dim() == 3, "crop_window: expected an image [C, H, W], got ", image.shape());
    NB_CHECK_VALUE(w.size > 0 && out > 0, "crop_window: the window and the output need a positive side, got ", w.size,
                   " and ", out);
    const Tensor window = data::crop(image.to(kFloat32), {w.y, w.x, w.size, w.size}, 0.0);
    return data::resize(window, {out, out}, data::Interpolation::Bilinear).contiguous();
}

FaceCrop base_crop(const Tensor& image, const Landmarks& points, int64_t out) {
    const CropWindow w = base_crop_window(points);
    return {crop_window(image, w, out), normalize_to_window(points, w), w};
}

FaceCrop augmented_crop(const Tensor& image, const Landmarks& points, Generator& gen, int64_t out) {
    NB_CHECK(image.dim() == 3, "augmented_crop: expected an image [C, H, W], got ", image.shape());
    const BaseGeometry g = base_geometry(points);
    const int64_t canvas_w = trunc_int(static_cast<double>(image.size(2)) * 1.1);
    const int64_t canvas_h = trunc_int(static_cast<double>(image.size(1)) * 1.1);
    auto jitter = [&](int64_t centre) {  // np.random.randint(-0.1 S, 0.1 S) with the bounds truncated
        const int64_t lo = trunc_int(-0.1 * static_cast<double>(g.size)),
                      hi = trunc_int(0.1 * static_cast<double>(g.size));
        return centre + (lo < hi ? gen.randint(lo, hi) : 0);
    };
    for (int attempt = 0; attempt < 1000; ++attempt) {
        const int64_t angle = gen.randint(-30, 30);
        const int64_t cx = jitter(g.cx), cy = jitter(g.cy);
        const double a = static_cast<double>(angle) / kDeg, cs = std::cos(a), sn = std::sin(a);
        const double fx = static_cast<double>(cx), fy = static_cast<double>(cy);
        const std::array<double, 6> m = {cs, sn, (1 - cs) * fx - sn * fy, -sn, cs, sn * fx + (1 - cs) * fy};
        Landmarks rotated{};
        double lo[2] = {1e300, 1e300}, hi[2] = {-1e300, -1e300};
        for (int64_t k = 0; k < kNumLandmarks; ++k) {
            const double x = points[k][0], y = points[k][1];
            rotated[k] = {m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]};
            for (int ax = 0; ax < 2; ++ax)
                lo[ax] = std::min(lo[ax], rotated[k][ax]), hi[ax] = std::max(hi[ax], rotated[k][ax]);
        }
        const int64_t wx = trunc_int(hi[0] - lo[0]) + 1, wy = trunc_int(hi[1] - lo[1]) + 1;
        const int64_t smin = std::min(wx, wy);
        const auto smax = static_cast<int64_t>(std::ceil(static_cast<double>(std::max(wx, wy)) * 1.25));
        const int64_t size = smin < smax ? gen.randint(smin, smax) : smin;
        const CropWindow win{cx - size / 2, cy - size / 2, size};
        const Landmarks normalised = normalize_to_window(rotated, win);
        if (size <= 0 || !inside_unit(normalised)) continue;
        FaceCrop crop{rotated_window(image, m, win, canvas_w, canvas_h, out), normalised, win,
                      static_cast<double>(angle), false};
        return gen.uniform() < 0.5 ? mirror(std::move(crop)) : crop;
    }
    return base_crop(image, points, out);
}

// --- Euler angles (the PnP solve is apps/pnp.cpp) ---

const std::array<int64_t, 14>& euler_tracked_points() {
    static const std::array<int64_t, 14> points = {33, 38, 50, 46, 60, 64, 68, 72, 55, 59, 76, 82, 85, 16};
    return points;
}

const std::array<std::array<double, 3>, 14>& euler_template() {
    // float32 values, as the reference builds the template with np.float32. Row 9 (WFLW 55, the nose base on the
    // image's left) repeats row 10's x = -2.005628: the reference's typo for +2.005628, kept (docs/pfld_data.md §7).
    static const std::array<std::array<double, 3>, 14> points = [] {
        const float t[14][3] = {
            {6.825897f, 6.760612f, 4.402142f},  {1.330353f, 7.122144f, 6.903745f},  {-1.330353f, 7.122144f, 6.903745f},
            {-6.825897f, 6.760612f, 4.402142f}, {5.311432f, 5.485328f, 3.987654f},  {1.789930f, 5.393625f, 4.413414f},
            {-1.789930f, 5.393625f, 4.413414f}, {-5.311432f, 5.485328f, 3.987654f}, {-2.005628f, 1.409845f, 6.165652f},
            {-2.005628f, 1.409845f, 6.165652f}, {2.774015f, -2.080775f, 5.048531f}, {-2.774015f, -2.080775f, 5.048531f},
            {0.000000f, -3.116408f, 6.097667f}, {0.000000f, -7.415691f, 4.070434f}};
        std::array<std::array<double, 3>, 14> p{};
        for (int i = 0; i < 14; ++i) p[i] = {t[i][0], t[i][1], t[i][2]};
        return p;
    }();
    return points;
}

EulerAngles calculate_pitch_yaw_roll(const std::array<Point2, 14>& points, double cam_w, double cam_h) {
    const double cx = cam_w / 2, cy = cam_h / 2;
    const double f = static_cast<float>(cx / std::tan(30.0 / kDeg));  // the camera matrix is float32
    const auto& model = euler_template();
    std::vector<std::array<double, 3>> object(model.begin(), model.end());
    std::vector<Point2> image(14);
    for (int i = 0; i < 14; ++i)  // float32, as np.asarray(landmarks_2D, dtype=np.float32)
        image[i] = {static_cast<float>(points[i][0]), static_cast<float>(points[i][1])};
    const PnPResult pose = solve_pnp(object, image, f, static_cast<float>(cx), static_cast<float>(cy));
    return rotation_to_euler(rodrigues(pose.rvec));
}

EulerAngles euler_angles(const Landmarks& points, double cam_w, double cam_h) {
    std::array<Point2, 14> tracked{};
    for (int i = 0; i < 14; ++i) tracked[i] = points[euler_tracked_points()[i]];
    return calculate_pitch_yaw_roll(tracked, cam_w, cam_h);
}

EulerAngles transform_euler(const EulerAngles& e, double rotation, bool flipped) {
    double roll = std::remainder(e.roll - rotation, 360.0);
    if (roll <= -180) roll += 360;
    return flipped ? EulerAngles{e.pitch, -e.yaw, roll == 180 ? 180 : -roll} : EulerAngles{e.pitch, e.yaw, roll};
}

// --- the dataset ---

Tensor swap_rb(const Tensor& image) {
    NB_CHECK(image.dim() == 3 && image.size(0) == 3, "swap_rb: expected an image [3, H, W], got ", image.shape());
    return flip(image, {0}).contiguous();
}

Tensor pfld_input(const Tensor& rgb_crop) { return swap_rb(data::to_float(data::to_uint8(rgb_crop))); }

Tensor landmarks_to_tensor(const Landmarks& points) {
    std::vector<float> flat(2 * kNumLandmarks);
    for (int64_t k = 0; k < kNumLandmarks; ++k)
        flat[2 * k] = static_cast<float>(points[k][0]), flat[2 * k + 1] = static_cast<float>(points[k][1]);
    return from_vector(flat, {2 * kNumLandmarks});
}

Landmarks landmarks_from_tensor(const Tensor& flat) {
    NB_CHECK(flat.numel() == 2 * kNumLandmarks, "landmarks_from_tensor: expected 196 values, got ", flat.shape());
    const Tensor t = flat.to(kFloat64).contiguous();
    const double* p = t.data_ptr<double>();
    Landmarks out{};
    for (int64_t k = 0; k < kNumLandmarks; ++k) out[k] = {p[2 * k], p[2 * k + 1]};
    return out;
}

LandmarkDataset::LandmarkDataset(std::vector<FaceAnnotation> faces, LandmarkTransform transform)
    : faces_(std::move(faces)), transform_(transform) {
    if (faces_.empty()) throw ValueError("LandmarkDataset: no faces");
    if (transform_.repeat < 1)
        throw ValueError(fmt::format("LandmarkDataset: repeat must be >= 1, got {}", transform_.repeat));
    if (faces_.front().cropped) transform_.train = false;  // prepared crops come augmented already
}

int64_t LandmarkDataset::size() const {
    return static_cast<int64_t>(faces_.size()) * (transform_.train ? transform_.repeat : 1);
}

FaceCrop LandmarkDataset::crop(int64_t index, Generator& gen) const {
    NB_CHECK_VALUE(index >= 0 && index < size(), "LandmarkDataset: index ", index, " out of [0, ", size(), ")");
    const int64_t repeat = transform_.train ? transform_.repeat : 1;
    const FaceAnnotation& face = faces_[static_cast<size_t>(index / repeat)];
    const Tensor image = data::to_tensor(data::read_image(face.image, data::ImageMode::RGB));
    if (face.cropped) {
        FaceCrop crop{image, face.points, {0, 0, image.size(2)}};
        if (image.size(1) != kLandmarkCrop || image.size(2) != kLandmarkCrop)
            crop.image = data::resize(image, {kLandmarkCrop, kLandmarkCrop}).contiguous();
        return crop;
    }
    const bool augment = transform_.train && (repeat == 1 || index % repeat != 0);
    return augment ? augmented_crop(image, face.points, gen) : base_crop(image, face.points);
}

data::Example LandmarkDataset::get(int64_t index, Generator& gen) const {
    const FaceCrop c = crop(index, gen);
    const FaceAnnotation& face = faces_[static_cast<size_t>(index / (transform_.train ? transform_.repeat : 1))];
    const Tensor image = pfld_input(c.image);
    std::vector<float> attributes(face.attributes.begin(), face.attributes.end());
    const EulerAngles e = face.euler ? transform_euler(*face.euler, c.rotation, c.flipped) : euler_angles(c.points);
    const std::vector<float> euler = {static_cast<float>(e.pitch), static_cast<float>(e.yaw),
                                      static_cast<float>(e.roll)};
    return {image, landmarks_to_tensor(c.points), from_vector(attributes, {6}), from_vector(euler, {3})};
}

}  // namespace nabla::apps
