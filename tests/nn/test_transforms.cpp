// tests/nn/test_transforms.cpp — nn/data/functional.cpp, resize.cpp, affine.cpp, color.cpp, letterbox.cpp:
// hand-worked small cases (flips of a 2x3 image, crop windows, a keypoint after a 90 degree rotation, ultralytics'
// letterbox numbers), PyTorch golden values made by tests/fixtures/make_data.py (antialiased resize, affine warps as
// torchvision computes them, HSV), and the error messages.
#include <set>

#include "nn/data/transforms.h"
#include "support/support.h"

using namespace nabla::data;

namespace {

Tensor u8(const std::vector<int>& v, const Shape& shape) {
    std::vector<uint8_t> b(v.begin(), v.end());
    return from_vector(b, shape);
}

bool equal(const Tensor& a, const Tensor& b) {
    return a.shape() == b.shape() && a.dtype() == b.dtype() && eq(a, b).to(kInt64).sum().item<int64_t>() == a.numel();
}

}  // namespace

TEST_CASE("to_tensor and normalize", "[data][transforms]") {
    Tensor chw = u8({0, 51, 102, 255, 255, 0, 0, 0, 10, 20, 30, 40}, {3, 2, 2});
    Tensor x = to_tensor(chw);
    REQUIRE(x.dtype() == kFloat32);
    REQUIRE_THAT(x, ClosesTo(div(chw.to(kFloat32), 255.0), 0));
    REQUIRE(x.select(0, 0).select(0, 0).select(0, 1).item<float>() == 0.2f);
    Tensor hwc = chw.permute({1, 2, 0}).contiguous();  // [2, 2, 3]
    REQUIRE_THAT(to_tensor(hwc, true), ClosesTo(x, 0));
    REQUIRE(to_tensor(u8({0, 255}, {1, 2})).shape() == Shape{1, 1, 2});
    CHECK_THAT(error_of([] {
                   to_tensor(rand({3, 2, 2}));
               }),
               Catch::Equals("to_tensor: expected a uint8 image, got float32 [3, 2, 2]"));

    Tensor img = t32({0.5f, 1.0f, 0.0f, 0.25f, 0.2f, 0.4f, 0.6f, 0.8f}, {2, 2, 2});
    Tensor n = normalize(img, {0.5, 0.2}, {0.5, 0.1});
    REQUIRE_THAT(n, ClosesTo(t32({0, 1, -1, -0.5f, 0, 2, 4, 6}, {2, 2, 2}), 1e-6));
    REQUIRE_THAT(normalize(img.unsqueeze(0), {0.5}, {0.5}), ClosesTo(sub(mul(img, 2.0), 1.0).unsqueeze(0), 1e-6));
    CHECK_THAT(
        error_of([&] {
            normalize(img, {0.5, 0.5, 0.5}, {1, 1, 1});
        }),
        Catch::Equals("normalize: mean (3 values) and std (3 values) must have 1 or C = 2 values for image [2, 2, 2]"));
    CHECK_THAT(error_of([&] { normalize(img, {0.5}, {0.0}); }),
               Catch::Equals("normalize: std evaluated to zero, leading to division by zero (std [0])"));
}

TEST_CASE("hflip and vflip of a 2x3 image, its mask and its keypoints", "[data][transforms]") {
    Tensor img = t32({1, 2, 3, 4, 5, 6}, {1, 2, 3});
    REQUIRE_THAT(hflip(img), ClosesTo(t32({3, 2, 1, 6, 5, 4}, {1, 2, 3}), 0));
    REQUIRE_THAT(vflip(img), ClosesTo(t32({4, 5, 6, 1, 2, 3}, {1, 2, 3}), 0));
    Tensor mask = u8({0, 1, 1, 0, 0, 1}, {2, 3});
    REQUIRE(equal(hflip(mask), u8({1, 1, 0, 1, 0, 0}, {2, 3})));

    // the centre of pixel (row 0, col 0) (value 1) goes where value 1 went: pixel (0, 2), centre (2.5, 0.5)
    Tensor pts = t32({0.5f, 0.5f, 1.0f, 2.0f, 3.0f, 0.25f}, {3, 2});
    REQUIRE_THAT(hflip_points(pts, 3), ClosesTo(t32({2.5f, 0.5f, 2.0f, 2.0f, 0.0f, 0.25f}, {3, 2}), 1e-6));
    REQUIRE_THAT(vflip_points(pts, 2), ClosesTo(t32({0.5f, 1.5f, 1.0f, 0.0f, 3.0f, 1.75f}, {3, 2}), 1e-6));
    // with a mirror table (left eye <-> right eye), point k of the result is point flip_index[k] of the flipped input
    REQUIRE_THAT(hflip_points(pts, 3, {1, 0, 2}), ClosesTo(t32({2.0f, 2.0f, 2.5f, 0.5f, 0.0f, 0.25f}, {3, 2}), 1e-6));
    REQUIRE_THAT(hflip_boxes(t32({0.5f, 1, 2, 2}, {1, 4}), 3), ClosesTo(t32({1, 1, 2.5f, 2}, {1, 4}), 1e-6));
    REQUIRE_THAT(vflip_boxes(t32({0.5f, 0, 2, 1.5f}, {1, 4}), 2), ClosesTo(t32({0.5f, 0.5f, 2, 2}, {1, 4}), 1e-6));
    CHECK_THAT(error_of([&] {
                   hflip_points(pts, 3, {1, 1, 2});
               }),
               Catch::Equals("hflip_points: flip_index must be a permutation of 0..2, got [1, 1, 2]"));
    CHECK_THAT(error_of([&] {
                   hflip_points(pts, 3, {1, 0});
               }),
               Catch::Equals("hflip_points: flip_index has 2 entries but the points are [3, 2]"));
    CHECK_THAT(error_of([&] {
                   hflip_points(t32({1, 2, 3}, {1, 3}), 3);
               }),
               Catch::Equals("hflip_points: expected points [..., 2], got [1, 3]"));
}

TEST_CASE("crop, center_crop and random_crop windows", "[data][transforms]") {
    Tensor img = arange(30, {.dtype = kFloat32}).reshape({1, 5, 6});
    REQUIRE_THAT(crop(img, {1, 2, 2, 3}), ClosesTo(t32({8, 9, 10, 14, 15, 16}, {1, 2, 3}), 0));
    // reaching outside: filled
    REQUIRE_THAT(crop(img, {-1, 4, 2, 3}, -1), ClosesTo(t32({-1, -1, -1, 4, 5, -1}, {1, 2, 3}), 0));
    REQUIRE(equal(crop(u8({1, 2, 3, 4}, {2, 2}), {1, 1, 2, 2}), u8({4, 0, 0, 0}, {2, 2})));

    // torchvision's numbers: top = round((5 - 2) / 2) = round(1.5) = 2, left = round(1.5) = 2 (half to even)
    CHECK(center_crop_box(5, 6, {2, 3}) == CropBox{2, 2, 2, 3});
    CHECK(center_crop_box(5, 6, {4, 4}) == CropBox{0, 1, 4, 4});   // round(0.5) = 0, round(1.0) = 1
    CHECK(center_crop_box(5, 6, {8, 6}) == CropBox{-1, 0, 8, 6});  // padded by (8 - 5) // 2 = 1 on top, 2 below
    CHECK(center_crop_box(5, 6, {5, 9}) == CropBox{0, -1, 5, 9});
    REQUIRE_THAT(center_crop(img, {2, 3}), ClosesTo(t32({14, 15, 16, 20, 21, 22}, {1, 2, 3}), 0));
    Tensor padded = center_crop(img, {8, 6});
    REQUIRE(padded.shape() == Shape{1, 8, 6});
    REQUIRE_THAT(padded.narrow(1, 1, 5), ClosesTo(img, 0));
    REQUIRE(padded.narrow(1, 0, 1).abs().sum().item<double>() == 0);
    REQUIRE(padded.narrow(1, 6, 2).abs().sum().item<double>() == 0);

    Generator g(3);
    std::set<int64_t> tops, lefts;
    for (int i = 0; i < 200; ++i) {
        CropBox b = random_crop_box(5, 6, {3, 4}, g);
        REQUIRE(b.height == 3);
        REQUIRE(b.width == 4);
        tops.insert(b.top);
        lefts.insert(b.left);
    }
    CHECK(tops == std::set<int64_t>{0, 1, 2});
    CHECK(lefts == std::set<int64_t>{0, 1, 2});
    Generator g1(42), g2(42);
    CHECK(random_crop_box(50, 60, {7, 9}, g1) == random_crop_box(50, 60, {7, 9}, g2));
    CHECK_THAT(error_of([&] {
                   random_crop_box(5, 6, {6, 4}, g);
               }),
               Catch::Equals("random_crop_box: crop size (6, 4) does not fit in an image of 5x6"));

    // the crop moves points and clips boxes by the same window
    CropBox b{1, 2, 2, 3};
    REQUIRE_THAT(crop_points(t32({2.5f, 1.5f, 4, 3}, {2, 2}), b), ClosesTo(t32({0.5f, 0.5f, 2, 2}, {2, 2}), 1e-6));
    REQUIRE_THAT(crop_boxes(t32({0, 0, 3, 2.5f}, {1, 4}), b), ClosesTo(t32({0, 0, 1, 1.5f}, {1, 4}), 1e-6));
}

TEST_CASE("resize: nearest masks, bilinear as interpolate, antialias as PyTorch's interpolate(antialias=True)",
          "[data][transforms]") {
    Tensor mask = u8({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, {1, 4, 4});
    Tensor small = resize(mask, {2, 2}, Interpolation::Nearest);
    REQUIRE(equal(small, u8({1, 3, 9, 11}, {1, 2, 2})));  // source index floor(i * 2)
    CHECK_THAT(error_of([&] {
                   resize(mask, {2, 2});
               }),
               Catch::Equals("resize: uint8 image [1, 4, 4] (a mask?) can only be resized with Nearest"));
    Tensor x = rand({3, 7, 9});
    InterpolateOptions o;
    o.size = Int2{4, 5};
    o.mode = InterpolateMode::Bilinear;
    REQUIRE_THAT(resize(x, {4, 5}), ClosesTo(interpolate(x.unsqueeze(0), o).squeeze(0), 1e-6));
    REQUIRE(resize(x, {7, 9}).is_same(x) == false);  // a detached handle, same values
    REQUIRE_THAT(resize(x, {7, 9}), ClosesTo(x, 0));

    struct Case {
        const char* name;
        Int2 size;
        Interpolation mode;
    };
    for (const Case& c : {Case{"aa_bilinear_down", {5, 7}, Interpolation::Bilinear},
                          Case{"aa_bicubic_down", {6, 8}, Interpolation::Bicubic},
                          Case{"aa_bilinear_up", {20, 30}, Interpolation::Bilinear},
                          Case{"aa_bicubic_mixed", {20, 9}, Interpolation::Bicubic}}) {
        auto g = load_fixture(std::string("data/resize_") + c.name);
        INFO(c.name);
        REQUIRE_THAT(resize(g.at("x"), c.size, c.mode, true), ClosesTo(g.at("y"), 1e-5));
    }
    REQUIRE_THAT(resize_points(t32({1, 2}, {1, 2}), {4, 8}, {2, 2}), ClosesTo(t32({0.25f, 1}, {1, 2}), 1e-6));
    REQUIRE_THAT(resize_boxes(t32({1, 2, 4, 4}, {1, 4}), {4, 8}, {8, 4}), ClosesTo(t32({0.5f, 4, 2, 8}, {1, 4}), 1e-6));
    CHECK_THAT(error_of([&] {
                   resize(x, {0, 3});
               }),
               Catch::Equals("resize: size must be positive, got (0, 3) for image [3, 7, 9]"));
}

TEST_CASE("affine and rotate match torchvision's grid_sample warps", "[data][transforms]") {
    struct Case {
        const char* name;
        AffineParams p;
        Interpolation mode;
        std::optional<double> fill;
    };
    AffineParams a1, a2, a3, a4;
    a1.angle = 30, a1.translate = {1, -2}, a1.scale = 1.2, a1.shear = {10, 5};
    a2.angle = -50, a2.translate = {2, 1}, a2.scale = 0.8;
    a3.angle = 20, a3.translate = {0, 3}, a3.scale = 1.1, a3.shear = {-8, 0};
    a4.angle = 15, a4.center = std::array<double, 2>{2, 3};
    for (const Case& c : {Case{"affine_bilinear", a1, Interpolation::Bilinear, std::nullopt},
                          Case{"affine_bilinear_fill", a2, Interpolation::Bilinear, 0.5},
                          Case{"affine_nearest_fill", a3, Interpolation::Nearest, 0.25},
                          Case{"affine_center", a4, Interpolation::Bilinear, std::nullopt}}) {
        auto g = load_fixture(std::string("data/") + c.name);
        INFO(c.name);
        REQUIRE_THAT(affine(g.at("x"), c.p, c.mode, c.fill), ClosesTo(g.at("y"), 1e-5));
    }
    auto g = load_fixture("data/rotate_37");
    REQUIRE_THAT(rotate(g.at("x"), 37), ClosesTo(g.at("y"), 1e-5));
}

TEST_CASE("a keypoint follows its pixel through a 90 degree rotation", "[data][transforms]") {
    // 5x5, one bright pixel at row 1, col 2 (centre (2.5, 1.5)), straight above the image centre (2.5, 2.5)
    Tensor img = zeros({1, 5, 5});
    img.select(1, 1).select(1, 2).fill_(1.0);
    Tensor pt = t32({2.5f, 1.5f}, {1, 2});
    // rotate(90) turns counter-clockwise on screen: above the centre goes to its left, pixel (row 2, col 1)
    Tensor r = rotate(img, 90, Interpolation::Nearest);
    REQUIRE(r.select(1, 2).select(1, 1).item<float>() == 1.0f);
    REQUIRE(r.sum().item<double>() == 1.0);
    REQUIRE_THAT(affine_points(pt, rotation_matrix(90, 5, 5)), ClosesTo(t32({1.5f, 2.5f}, {1, 2}), 1e-6));
    // affine's angle turns clockwise: to the right of the centre, pixel (row 2, col 3)
    AffineParams p;
    p.angle = 90;
    Tensor a = affine(img, p, Interpolation::Nearest);
    REQUIRE(a.select(1, 2).select(1, 3).item<float>() == 1.0f);
    REQUIRE_THAT(affine_points(pt, affine_matrix(p, 5, 5)), ClosesTo(t32({3.5f, 2.5f}, {1, 2}), 1e-6));
    // bilinear at a right angle moves pixels exactly too; a uint8 mask keeps its dtype
    REQUIRE_THAT(rotate(img, 90), ClosesTo(r, 1e-6));
    Tensor mask = img.to(kUInt8);
    Tensor rm = rotate(mask, 90, Interpolation::Nearest);
    REQUIRE(rm.dtype() == kUInt8);
    REQUIRE(equal(rm, r.to(kUInt8)));
    // a box turns into the box around its turned corners, clipped to the image
    REQUIRE_THAT(affine_boxes(t32({2, 0, 3, 2}, {1, 4}), rotation_matrix(90, 5, 5), 5, 5),
                 ClosesTo(t32({0, 2, 2, 3}, {1, 4}), 1e-6));
    REQUIRE_THAT(affine_boxes(t32({0, 0, 5, 1}, {1, 4}), affine_matrix(p, 5, 5), 5, 5),
                 ClosesTo(t32({4, 0, 5, 5}, {1, 4}), 1e-6));
    // translation, scale about the centre, and the inverse
    AffineParams t;
    t.translate = {1, -2};
    t.scale = 2;
    AffineMatrix m = affine_matrix(t, 4, 6);  // centre (3, 2): p' = 2 (p - c) + c + (1, -2)
    REQUIRE_THAT(affine_points(t32({3, 2, 4, 2}, {2, 2}), m), ClosesTo(t32({4, 0, 6, 0}, {2, 2}), 1e-6));
    REQUIRE_THAT(affine_points(affine_points(t32({1.5f, 0.5f}, {1, 2}), m), invert(m)),
                 ClosesTo(t32({1.5f, 0.5f}, {1, 2}), 1e-6));
    CHECK_THAT(error_of([&] { warp_affine(img, m, Interpolation::Bicubic); }),
               Catch::Equals("warp_affine: only Nearest and Bilinear are supported (as torchvision)"));
    CHECK_THAT(error_of([&] { warp_affine(mask, m); }),
               Catch::Equals("warp_affine: uint8 image [1, 5, 5] (a mask?) can only be warped with Nearest"));
    CHECK_THAT(error_of([&] {
                   invert({1, 2, 0, 2, 4, 0});
               }),
               Catch::StartsWith("affine: the matrix [1, 2, 0; 2, 4, 0] is singular"));
}

TEST_CASE("random_affine_params draws within the ranges, reproducibly", "[data][transforms]") {
    RandomAffineOptions o;
    o.degrees = {-10, 10};
    o.translate = {0.1, 0.2};
    o.scale = {0.9, 1.1};
    o.shear_x = {-5, 5};
    Generator g(1), g2(1);
    for (int i = 0; i < 100; ++i) {
        AffineParams p = random_affine_params(o, 50, 40, g);  // max shifts: 0.1 * 40 = 4, 0.2 * 50 = 10 pixels
        REQUIRE(std::abs(p.angle) <= 10);
        REQUIRE(std::abs(p.translate[0]) <= 4);
        REQUIRE(std::abs(p.translate[1]) <= 10);
        REQUIRE(p.translate[0] == std::round(p.translate[0]));
        REQUIRE((p.scale >= 0.9 && p.scale <= 1.1));
        REQUIRE(std::abs(p.shear[0]) <= 5);
        REQUIRE(p.shear[1] == 0);
        AffineParams q = random_affine_params(o, 50, 40, g2);
        REQUIRE(q.angle == p.angle);
        REQUIRE(q.scale == p.scale);
    }
}

TEST_CASE("HSV: torchvision's conversions and ultralytics' gains", "[data][transforms]") {
    auto g = load_fixture("data/hsv");
    REQUIRE_THAT(rgb_to_hsv(g.at("rgb")), ClosesTo(g.at("hsv"), 1e-6));
    REQUIRE_THAT(hsv_to_rgb(g.at("hsv")), ClosesTo(g.at("back"), 1e-6));
    REQUIRE_THAT(hsv_to_rgb(g.at("hsv")), ClosesTo(g.at("rgb"), 1e-5));
    REQUIRE_THAT(adjust_hsv(g.at("rgb"), {1.013, 1.4, 0.7}), ClosesTo(g.at("adjusted"), 1e-5));
    // pure red: hue 0, full saturation and value; halving the value gives dark red
    Tensor red = t32({1, 0, 0}, {3, 1, 1});
    REQUIRE_THAT(rgb_to_hsv(red), ClosesTo(t32({0, 1, 1}, {3, 1, 1}), 0));
    REQUIRE_THAT(adjust_hsv(red, {1, 1, 0.5}), ClosesTo(t32({0.5f, 0, 0}, {3, 1, 1}), 1e-6));

    Tensor img = rand({3, 4, 5});
    Generator a(9), b(9);
    REQUIRE_THAT(hsv_jitter(img, a), ClosesTo(hsv_jitter(img, b), 0));
    Generator c(9);
    auto gains = random_hsv_gains({}, c);
    REQUIRE(std::abs(gains[0] - 1) <= 0.015);
    REQUIRE(std::abs(gains[1] - 1) <= 0.7);
    REQUIRE(std::abs(gains[2] - 1) <= 0.5);
    Generator d(9);
    REQUIRE_THAT(hsv_jitter(img, d, {0, 0, 0}), ClosesTo(img, 1e-6));  // zero gains change nothing
    CHECK_THAT(error_of([] {
                   rgb_to_hsv(rand({2, 3, 3}));
               }),
               Catch::Equals("rgb_to_hsv: expected an image [..., 3, H, W], got [2, 3, 3]"));
}

TEST_CASE("letterbox: ultralytics' ratio, padding and border", "[data][transforms]") {
    const double grey = 114.0 / 255.0;
    Tensor img = rand({3, 480, 640});  // h 480, w 640 into 640
    LetterboxOptions full_size;
    full_size.auto_pad = false;
    Letterbox lb = letterbox(img, full_size);
    CHECK(lb.ratio_w == 1.0);
    CHECK(lb.ratio_h == 1.0);
    CHECK(lb.pad_w == 0.0);
    CHECK(lb.pad_h == 80.0);
    CHECK(lb.top == 80);
    CHECK(lb.left == 0);
    REQUIRE(lb.image.shape() == Shape{3, 640, 640});
    REQUIRE_THAT(lb.image.narrow(1, 80, 480), ClosesTo(img, 0));
    REQUIRE_THAT(lb.image.narrow(1, 0, 80), ClosesTo(full({3, 80, 640}, grey), 1e-7));
    REQUIRE_THAT(lb.image.narrow(1, 560, 80), ClosesTo(full({3, 80, 640}, grey), 1e-7));
    REQUIRE_THAT(letterbox_boxes(t32({0, 0, 640, 480, 10, 20, 30, 40}, {2, 4}), lb),
                 ClosesTo(t32({0, 80, 640, 560, 10, 100, 30, 120}, {2, 4}), 1e-5));
    // auto: 160 rows of padding mod 32 = 0 -> no padding at all
    Letterbox minimal = letterbox(img);
    CHECK(minimal.pad_h == 0.0);
    REQUIRE(minimal.image.shape() == Shape{3, 480, 640});

    // 720x1280 into 640: r = 0.5, resized 360x640; full: 140 rows each side; auto: 280 mod 32 = 24 -> 12 each side
    Tensor wide = rand({3, 72, 128});
    LetterboxOptions o;
    o.new_shape = 64;
    o.auto_pad = false;
    Letterbox w1 = letterbox(wide, o);
    CHECK(w1.ratio_w == 0.5);
    CHECK(w1.pad_h == 14.0);
    REQUIRE(w1.image.shape() == Shape{3, 64, 64});
    REQUIRE_THAT(w1.image.narrow(1, 14, 36), ClosesTo(resize(wide, {36, 64}), 1e-6));
    o.auto_pad = true;
    o.stride = 8;  // 28 rows mod 8 = 4 -> 2 each side
    Letterbox w2 = letterbox(wide, o);
    CHECK(w2.pad_h == 2.0);
    REQUIRE(w2.image.shape() == Shape{3, 40, 64});

    // an odd remainder: 63x100 into 128: r = 1.28, resized 81x128, dh = 23.5: top round(23.4) = 23, bottom 24
    LetterboxOptions odd;
    odd.new_shape = 128;
    odd.auto_pad = false;
    Letterbox l3 = letterbox(rand({3, 63, 100}), odd);
    CHECK(l3.ratio_h == 1.28);
    CHECK(l3.pad_h == 23.5);
    CHECK(l3.top == 23);
    REQUIRE(l3.image.shape() == Shape{3, 128, 128});
    REQUIRE_THAT(l3.image.narrow(1, 23 + 81, 24), ClosesTo(full({3, 24, 128}, grey), 1e-7));
    REQUIRE(l3.image.narrow(1, 23, 81).select(0, 0).select(0, 0).select(0, 0).item<float>() !=
            static_cast<float>(grey));

    // no scaleup: a small image stays at its size and is padded; scale_fill stretches without padding
    LetterboxOptions keep;
    keep.new_shape = 64;
    keep.auto_pad = false;
    keep.scaleup = false;
    Tensor tiny = rand({3, 24, 32});
    Letterbox l4 = letterbox(tiny, keep);
    CHECK(l4.ratio_w == 1.0);
    CHECK(l4.top == 20);
    CHECK(l4.left == 16);
    REQUIRE_THAT(l4.image.narrow(1, 20, 24).narrow(2, 16, 32), ClosesTo(tiny, 0));
    LetterboxOptions stretch;
    stretch.new_shape = Int2{30, 64};
    stretch.auto_pad = false;
    stretch.scale_fill = true;
    Letterbox l5 = letterbox(tiny, stretch);
    REQUIRE(l5.image.shape() == Shape{3, 30, 64});
    CHECK(l5.ratio_w == 2.0);
    CHECK(l5.ratio_h == 1.25);
    REQUIRE_THAT(letterbox_points(t32({16, 12}, {1, 2}), l5), ClosesTo(t32({32, 15}, {1, 2}), 1e-6));
}
