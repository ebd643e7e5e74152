// tests/apps/test_landmarks_data.cpp — PFLD's data path: the WFLW and prepared-list readers (good lines, malformed
// lines named by file and line), the base crop against hand-computed values, the mirror map, the augmentation
// (points stay in [0, 1], the image follows the points, one generator seed gives one result), the Euler-angle labels
// against OpenCV (tests/fixtures/make_landmarks.py) and against the synthetic faces' true angles, the face generator
// (same seed, same bytes) and the dataset on a generated folder.
#include <filesystem>
#include <fstream>

#include "apps/face_synth.h"
#include "apps/landmarks_data.h"
#include "nn/data/image.h"
#include "support/support.h"

namespace fs = std::filesystem;
using namespace nabla::apps;

namespace {

// 98 points on a slanted grid inside [x0, x1] x [y0, y1], point 0 at (x0, y0) and point 1 at (x1, y1).
Landmarks grid_points(double x0, double y0, double x1, double y1) {
    Landmarks p{};
    for (int64_t k = 0; k < kNumLandmarks; ++k) {
        const double u = (k % 10) / 9.0, v = (k / 10) / 9.0;
        p[k] = {x0 + (x1 - x0) * (0.1 + 0.8 * u), y0 + (y1 - y0) * (0.1 + 0.8 * v)};
    }
    p[0] = {x0, y0};
    p[1] = {x1, y1};
    return p;
}

std::string wflw_line(const Landmarks& p, const std::string& attributes, const std::string& image) {
    std::string line;
    for (const auto& q : p) line += fmt::format("{} {} ", q[0], q[1]);
    return line + "1 2 30 40 " + attributes + " " + image + "\n";
}

void write_grey_png(const std::string& path, int64_t h, int64_t w) {
    fs::create_directories(fs::path(path).parent_path());
    data::write_png(path, full({3, h, w}, 90, {.dtype = kUInt8}));
}

double value(Tensor t, std::initializer_list<int64_t> index) {  // t[i0, i1, ...] as a double
    for (int64_t i : index) t = t.select(0, i);
    return t.item<double>();
}

std::array<Point2, 14> row_points(const Tensor& points, int64_t i) {  // points [N, 14, 2] float64
    std::array<Point2, 14> p{};
    for (int64_t k = 0; k < 14; ++k) p[k] = {value(points, {i, k, 0}), value(points, {i, k, 1})};
    return p;
}

double angle_error(const EulerAngles& a, const Tensor& expected, int64_t i) {  // the largest of the three, degrees
    const double e[3] = {value(expected, {i, 0}), value(expected, {i, 1}), value(expected, {i, 2})};
    return std::max({std::abs(a.pitch - e[0]), std::abs(a.yaw - e[1]), std::abs(a.roll - e[2])});
}

}  // namespace

TEST_CASE("landmarks data: WFLW lines are read; malformed ones name the file, the line and the fault", "[landmarks]") {
    TempDir d;
    write_grey_png(d.file("images/a/face.png"), 8, 8);
    const Landmarks p = grid_points(1.5, 2.25, 6.5, 7.75);
    std::ofstream(d.file("list.txt")) << "\n" << wflw_line(p, "1 0 0 1 0 1", "a/face.png");
    const auto faces = read_wflw_annotations(d.file("list.txt"), d.file("images"));
    REQUIRE(faces.size() == 1);
    CHECK(faces[0].image == d.file("images/a/face.png"));
    CHECK(faces[0].points[0] == Point2{1.5, 2.25});
    CHECK(faces[0].points[1] == Point2{6.5, 7.75});
    CHECK(faces[0].box == std::array<int64_t, 4>{1, 2, 30, 40});
    CHECK(faces[0].attributes == std::array<int64_t, 6>{1, 0, 0, 1, 0, 1});
    CHECK_FALSE(faces[0].euler.has_value());
    CHECK_FALSE(faces[0].cropped);

    std::ofstream(euler_sidecar_path(d.file("list.txt"))) << "1.5 -20 3\n";  // the generator's exact angles
    const auto with_angles = read_wflw_annotations(d.file("list.txt"), d.file("images"));
    REQUIRE(with_angles[0].euler.has_value());
    CHECK(with_angles[0].euler->yaw == -20);
    fs::remove(euler_sidecar_path(d.file("list.txt")));

    auto fails = [&](const std::string& text, const std::string& message) {
        std::ofstream(d.file("bad.txt")) << wflw_line(p, "0 0 0 0 0 0", "a/face.png") << text;
        REQUIRE_THROWS_WITH(read_wflw_annotations(d.file("bad.txt"), d.file("images")),
                            Catch::Contains(d.file("bad.txt") + ":2:") && Catch::Contains(message));
    };
    std::string short_line = wflw_line(p, "0 0 0 0 0 0", "a/face.png");
    short_line.erase(0, short_line.find(' ') + 1);
    fails(short_line, "has 206 fields, expected 207");
    std::string word = wflw_line(p, "0 0 0 0 0 0", "a/face.png");
    word.replace(0, word.find(' '), "abc");
    fails(word, "field 1 (landmark x) is 'abc', not a number");
    fails(wflw_line(p, "0 2 0 0 0 0", "a/face.png"), "field 202 (expression flag) is '2', expected 0 or 1");
    std::ofstream(d.file("missing.txt")) << wflw_line(p, "0 0 0 0 0 0", "a/nowhere.png");
    REQUIRE_THROWS_WITH(read_wflw_annotations(d.file("missing.txt"), d.file("images")),
                        Catch::Contains("do not exist") && Catch::Contains("a/nowhere.png"));
}

TEST_CASE("landmarks data: PFLD's prepared list.txt and the folder finder", "[landmarks]") {
    TempDir d;
    write_grey_png(d.file("train_data/imgs/0_face_0.png"), kLandmarkCrop, kLandmarkCrop);
    std::string line = "/moved/away/0_face_0.png";  // not there any more: found under imgs/ beside the list
    for (int64_t k = 0; k < kNumLandmarks; ++k) line += fmt::format(" {} {}", 0.25 + k * 0.005, 0.5);
    line += " 0 1 0 0 1 0 10.5 -20.25 3.0\n";
    std::ofstream(d.file("train_data/list.txt")) << line;
    REQUIRE_THROWS_WITH(find_landmark_data(d.path.string()),
                        Catch::Contains("test_data/list.txt") && Catch::Contains("but no"));
    fs::create_directories(d.path / "test_data");
    fs::copy_file(d.file("train_data/list.txt"), d.file("test_data/list.txt"));
    fs::copy(d.path / "train_data" / "imgs", d.path / "test_data" / "imgs");
    const LandmarkData data = find_landmark_data(d.path.string());
    CHECK(data.format == "prepared");
    REQUIRE(data.train.size() == 1);
    const FaceAnnotation& face = data.train[0];
    CHECK(face.cropped);
    CHECK(face.image == d.file("train_data/imgs/0_face_0.png"));
    CHECK(face.points[2][0] == Approx(0.26));
    CHECK(face.attributes == std::array<int64_t, 6>{0, 1, 0, 0, 1, 0});
    REQUIRE(face.euler.has_value());
    CHECK(face.euler->yaw == -20.25);

    LandmarkDataset ds(data.train, {.train = true, .repeat = 10});  // prepared crops: used as they are
    REQUIRE(ds.size() == 1);
    Generator g(0);
    const auto example = ds.get(0, g);
    REQUIRE(example.size() == 4);
    CHECK(example[0].shape() == Shape{3, kLandmarkCrop, kLandmarkCrop});
    CHECK(value(example[0], {0, 0, 0}) == Approx(90 / 255.0));
    CHECK(example[1].shape() == Shape{196});
    CHECK(value(example[1], {4}) == Approx(0.26));
    CHECK_THAT(example[2], ClosesTo(t32({0, 1, 0, 0, 1, 0}, {6}), 0, 0));
    CHECK_THAT(example[3], ClosesTo(t32({10.5, -20.25, 3.0}, {3}), 0, 0));

    TempDir empty;
    REQUIRE_THROWS_WITH(find_landmark_data(empty.path.string()),
                        Catch::Contains(empty.path.string()) && Catch::Contains("WFLW_annotations"));
}

TEST_CASE("landmarks data: the base crop as computed by hand", "[landmarks]") {
    // x in [2.5, 40.9], y in [3.5, 60.2]: lo = (2, 3), hi = (40, 60), wh = (39, 58), centre = (21, 32),
    // side = int(58 * 1.2) = 69, corner = centre - 34 = (-13, -2).
    const Landmarks p = grid_points(2.5, 3.5, 40.9, 60.2);
    REQUIRE(base_crop_window(p) == CropWindow{-13, -2, 69});
    // An image whose value is its column + 1, so that zero padding shows.
    Tensor image = (arange(60, {.dtype = kFloat32}) + 1.0).reshape({1, 1, 60}).expand({1, 80, 60}).contiguous();
    const FaceCrop crop = base_crop(image, p);
    REQUIRE(crop.image.shape() == Shape{1, 112, 112});
    CHECK(crop.points[0][0] == Approx(15.5 / 69));
    CHECK(crop.points[0][1] == Approx(5.5 / 69));
    auto at = [&](int64_t i, int64_t j) { return value(crop.image, {0, i, j}); };
    // Output column j reads crop column (j + 0.5) * 69 / 112 - 0.5, image column that - 13.
    CHECK(at(56, 60) == Approx(60.5 * 69 / 112.0 - 0.5 - 13 + 1).epsilon(1e-5));
    CHECK(at(56, 5) == 0);                                                            // left of the image
    CHECK(at(56, 21) == Approx(1 - (13 - (21.5 * 69 / 112.0 - 0.5))).epsilon(1e-5));  // a tap on each side
    CHECK(at(0, 60) == 0);                                                            // above the image

    const Landmarks back = denormalize_from_window(crop.points, crop.window);
    for (int64_t k = 0; k < kNumLandmarks; ++k) {
        CHECK(back[k][0] == Approx(p[k][0]));
        CHECK(back[k][1] == Approx(p[k][1]));
    }
    CHECK(square_window({10, 20, 50, 40}) == CropWindow{8, 8, 44});  // centre (30, 30), side int(40 * 1.1)
    // The network's input: 8-bit levels, blue first.
    const Tensor rgb = stack({full({2, 2}, 1.0), full({2, 2}, 0.5), full({2, 2}, 0.0)});
    const Tensor bgr = pfld_input(rgb);
    CHECK(value(bgr, {0, 0, 0}) == 0);
    CHECK(value(bgr, {1, 1, 1}) == Approx(128 / 255.0));
    CHECK(value(bgr, {2, 0, 1}) == 1);
}

TEST_CASE("landmarks data: the mirror map is an involution that mirrors the generator's face", "[landmarks]") {
    const auto& map = wflw_mirror_map();
    REQUIRE(map.size() == 98);
    std::vector<int64_t> fixed;
    for (int64_t k = 0; k < 98; ++k) {
        CHECK(map[map[k]] == k);
        if (map[k] == k) fixed.push_back(k);
    }
    CHECK(fixed == std::vector<int64_t>{16, 51, 52, 53, 54, 57, 79, 85, 90, 94});
    CHECK(map[60] == 72);
    CHECK(map[96] == 97);
    const auto& face = mean_face();
    for (int64_t k = 0; k < 98; ++k) {
        INFO("point " << k);
        CHECK(face[map[k]][0] == Approx(-face[k][0]).margin(1e-12));
        CHECK(face[map[k]][1] == Approx(face[k][1]).margin(1e-12));
        CHECK(face[map[k]][2] == Approx(face[k][2]).margin(1e-12));
    }
    CHECK(face[60][0] > 0);  // +X is the image's left: WFLW's point 60 is the left eye's outer corner
}

TEST_CASE("landmarks data: augmented crops keep the points in [0, 1], follow the image and repeat per seed",
          "[landmarks]") {
    // A dark 200 x 200 image with a bright 5 x 5 square on point 44, inside the face.
    const Landmarks p = grid_points(60.5, 50.5, 140.5, 150.5);
    Tensor image = zeros({3, 200, 200});
    const auto x44 = static_cast<int64_t>(p[44][0]), y44 = static_cast<int64_t>(p[44][1]);
    image.narrow(1, y44 - 2, 5).narrow(2, x44 - 2, 5).fill_(1.0);
    int flips = 0;
    for (uint64_t seed = 0; seed < 40; ++seed) {
        Generator g(seed);
        const FaceCrop crop = augmented_crop(image, p, g);
        Generator again(seed);
        const FaceCrop same = augmented_crop(image, p, again);
        REQUIRE_THAT(same.image, ClosesTo(crop.image, 0, 0));
        REQUIRE(same.points == crop.points);
        for (const auto& q : crop.points) REQUIRE((q[0] >= 0 && q[0] <= 1 && q[1] >= 0 && q[1] <= 1));
        CHECK((crop.rotation >= -30 && crop.rotation < 30));
        flips += crop.flipped;
        // The bright square's centre is where point 44 went (point 35 after a mirror, by the map).
        const Point2 target = crop.points[crop.flipped ? 35 : 44];
        const Tensor grey = crop.image.sum({0});
        const Tensor ys = arange(112, {.dtype = kFloat32}).reshape({112, 1}) + 0.5;
        const Tensor xs = arange(112, {.dtype = kFloat32}).reshape({1, 112}) + 0.5;
        const double mass = grey.sum().item<double>();
        REQUIRE(mass > 0);
        const double cx = (grey * xs).sum().item<double>() / mass, cy = (grey * ys).sum().item<double>() / mass;
        INFO("seed " << seed << " rotation " << crop.rotation << " flipped " << crop.flipped);
        CHECK(cx == Approx(target[0] * 112).margin(0.6));
        CHECK(cy == Approx(target[1] * 112).margin(0.6));
    }
    CHECK((flips > 8 && flips < 32));
}

TEST_CASE("landmarks data: calculate_pitch_yaw_roll against OpenCV", "[landmarks]") {
    const TensorMap f = load_fixture("landmarks/euler");
    const int64_t n = f.at("pixel_points").size(0);
    // Pixel coordinates (a well-posed solve) and PFLD's normalised ones (ill-posed: the face is a speck far from the
    // principal point, the minimum shallow): both land where OpenCV's solver does, as the same start and steps are
    // taken. Measured: 1e-12 and 2e-6 degrees.
    double worst_pixel = 0, worst_norm = 0;
    for (int64_t i = 0; i < n; ++i) {
        worst_pixel = std::max(worst_pixel, angle_error(calculate_pitch_yaw_roll(row_points(f.at("pixel_points"), i)),
                                                        f.at("pixel_euler"), i));
        worst_norm = std::max(worst_norm, angle_error(calculate_pitch_yaw_roll(row_points(f.at("norm_points"), i)),
                                                      f.at("norm_euler"), i));
    }
    INFO("largest differences: pixel " << worst_pixel << " deg, normalised " << worst_norm << " deg");
    CHECK(worst_pixel < 1e-6);
    CHECK(worst_norm < 1e-3);
}

namespace {

std::vector<Point3> tracked_model() {  // the generator's face at PFLD's 14 points (its typo-free template)
    std::vector<Point3> model;
    for (int64_t k : euler_tracked_points()) model.push_back(mean_face()[k]);
    return model;
}

std::vector<Point2> tracked(const Landmarks& p) {
    std::vector<Point2> out;
    for (int64_t k : euler_tracked_points()) out.push_back(p[k]);
    return out;
}

double worst(const EulerAngles& a, const EulerAngles& b) {
    return std::max({std::abs(a.pitch - b.pitch), std::abs(a.yaw - b.yaw), std::abs(a.roll - b.roll)});
}

bool inside(const std::vector<Point2>& poly, const Point2& p) {  // even-odd
    bool in = false;
    for (size_t i = 0, j = poly.size() - 1; i < poly.size(); j = i++)
        if ((poly[i][1] > p[1]) != (poly[j][1] > p[1]) &&
            p[0] < poly[i][0] + (p[1] - poly[i][1]) * (poly[j][0] - poly[i][0]) / (poly[j][1] - poly[i][1]))
            in = !in;
    return in;
}

}  // namespace

TEST_CASE("landmarks data: the generator's poses come back from the PnP solve", "[landmarks]") {
    const PinholeCamera camera{128 / std::tan(3.14159265358979 / 6), 128, 128, 60};
    Generator g(7);
    double typo = 0;
    for (int i = 0; i < 30; ++i) {
        const EulerAngles truth{(g.uniform() - 0.5) * 60, (g.uniform() - 0.5) * 120, (g.uniform() - 0.5) * 50};
        const Landmarks p = project_face(mean_face(), truth, camera);
        // With the face's own 14 points the solve is exact (perspective, no noise).
        const PnPResult pose = solve_pnp(tracked_model(), tracked(p), camera.focal, 128, 128);
        INFO("truth " << truth.pitch << " " << truth.yaw << " " << truth.roll);
        REQUIRE(pose.rms < 1e-6);
        REQUIRE(worst(rotation_to_euler(rodrigues(pose.rvec)), truth) < 1e-4);
        // PFLD's template (its typo moves one nose point by 4 units) on the same pixels: a biased estimate.
        typo = std::max(typo, worst(euler_angles(p), truth));
        // The augmentation's rotation (about the principal point, as a camera roll) and mirror change the angles
        // as transform_euler says.
        const double rotation = g.randint(-30, 30), a = rotation * 3.14159265358979 / 180;
        Landmarks turned{}, mirrored{};
        for (int64_t k = 0; k < kNumLandmarks; ++k) {
            const double x = p[k][0] - 128, y = p[k][1] - 128;
            turned[k] = {128 + std::cos(a) * x + std::sin(a) * y, 128 - std::sin(a) * x + std::cos(a) * y};
        }
        for (int64_t k = 0; k < kNumLandmarks; ++k)
            mirrored[k] = {256 - turned[wflw_mirror_map()[k]][0], turned[wflw_mirror_map()[k]][1]};
        const PnPResult t = solve_pnp(tracked_model(), tracked(turned), camera.focal, 128, 128);
        const PnPResult m = solve_pnp(tracked_model(), tracked(mirrored), camera.focal, 128, 128);
        REQUIRE(worst(rotation_to_euler(rodrigues(t.rvec)), transform_euler(truth, rotation, false)) < 1e-4);
        REQUIRE(worst(rotation_to_euler(rodrigues(m.rvec)), transform_euler(truth, rotation, true)) < 1e-4);
    }
    INFO("PFLD's template: largest error " << typo << " degrees");
    CHECK(typo < 25);
}

TEST_CASE("landmarks data: synthetic faces keep their features inside the outline", "[landmarks][faces]") {
    // The jaw points are the skin's outline; every other point must be drawn on the face (a nose turned by more
    // than 30 degrees may stand out of the cheek, as real ones do).
    const std::vector<Tensor> none;
    std::string outside;
    for (uint64_t seed = 0; seed < 300; ++seed) {
        Generator g(seed);
        const SynthFace face = synthesize_face(128, g, none);
        REQUIRE(face.image.shape() == Shape{3, 128, 128});
        REQUIRE(face.image.dtype() == kUInt8);
        for (int64_t k = 33; k < kNumLandmarks; ++k) {
            if (k >= 51 && k <= 59 && std::abs(face.euler.yaw) > 30) continue;
            if (!inside(face.outline, face.points[k]))
                outside += fmt::format("seed {} point {} (pitch {:.1f} yaw {:.1f}); ", seed, k, face.euler.pitch,
                                       face.euler.yaw);
        }
    }
    REQUIRE(outside.empty());
}

TEST_CASE("landmarks data: generated faces repeat per seed and load as a WFLW folder", "[landmarks][faces]") {
    TempDir a, b;
    const FaceSynthOptions options{.train = 6, .test = 3, .size = 128, .seed = 5, .photos = ""};
    generate_faces(a.path.string(), options);
    generate_faces(b.path.string(), options);
    size_t files = 0;
    for (const auto& entry : fs::recursive_directory_iterator(a.path)) {
        if (!entry.is_regular_file()) continue;
        const fs::path other = b.path / fs::relative(entry.path(), a.path);
        std::ifstream fa(entry.path(), std::ios::binary), fb(other, std::ios::binary);
        const std::string ca((std::istreambuf_iterator<char>(fa)), {}), cb((std::istreambuf_iterator<char>(fb)), {});
        INFO(entry.path());
        REQUIRE(ca == cb);
        ++files;
    }
    CHECK(files == 6 + 3 + 4);  // the pictures, two lists and two angle sidecars

    const LandmarkData data = find_landmark_data(a.path.string());
    CHECK(data.format == "wflw");
    REQUIRE(data.train.size() == 6);
    REQUIRE(data.test.size() == 3);
    REQUIRE(data.train[0].euler.has_value());
    LandmarkDataset train(data.train, {.train = true, .repeat = 2});
    REQUIRE(train.size() == 12);
    for (int64_t i = 0; i < train.size(); ++i) {
        Generator g(static_cast<uint64_t>(i));
        const auto ex = train.get(i, g);
        REQUIRE(ex[0].shape() == Shape{3, kLandmarkCrop, kLandmarkCrop});
        REQUIRE(ex[1].shape() == Shape{196});
        REQUIRE(ex[2].shape() == Shape{6});
        REQUIRE(ex[3].shape() == Shape{3});
        REQUIRE(min(ex[1]).item<double>() >= 0);
        REQUIRE(max(ex[1]).item<double>() <= 1);
        if (i % 2 == 0) {  // copy 0 of each face is the base crop: the generator's angles as written
            const EulerAngles& e = *data.train[static_cast<size_t>(i / 2)].euler;
            REQUIRE_THAT(ex[3], ClosesTo(t32({float(e.pitch), float(e.yaw), float(e.roll)}, {3}), 1e-4, 0));
        }
    }
    // Without the sidecar the angles come from the crop's landmarks (PFLD's calculate_pitch_yaw_roll).
    FaceAnnotation bare = data.test[0];
    bare.euler.reset();
    Generator g(0);
    const FaceCrop crop = LandmarkDataset({bare}, {}).crop(0, g);
    const EulerAngles expected = euler_angles(crop.points);
    REQUIRE_THAT(LandmarkDataset({bare}, {}).get(0, g)[3],
                 ClosesTo(t32({float(expected.pitch), float(expected.yaw), float(expected.roll)}, {3}), 1e-4, 0));
}
