// tests/nn/test_draw.cpp — nn/data/draw.cpp, font.cpp, plot.cpp: make_grid against torchvision's (re-implemented in
// tests/fixtures/make_data.py), save_image, and pixel-exact checks of masks, points, boxes, text and plots on tiny
// images.

#include <filesystem>
#include <fstream>
#include <set>

#include "nn/data/draw.h"
#include "nn/data/image.h"
#include "nn/data/plot.h"
#include "support/support.h"

namespace fs = std::filesystem;
using namespace nabla::data;

namespace {

// The colour of pixel (x, y) of a [3, H, W] image.
Color at(const Tensor& img, int64_t x, int64_t y) {
    Tensor t = img.to(kFloat64);
    return {t.select(0, 0).select(0, y).select(0, x).item<double>(),
            t.select(0, 1).select(0, y).select(0, x).item<double>(),
            t.select(0, 2).select(0, y).select(0, x).item<double>()};
}

bool near(const Color& a, const Color& b, double tol = 1e-6) {
    return std::abs(a[0] - b[0]) <= tol && std::abs(a[1] - b[1]) <= tol && std::abs(a[2] - b[2]) <= tol;
}

// The pixels (x, y) of a [3, H, W] image that are `c`.
std::set<std::pair<int64_t, int64_t>> pixels_of(const Tensor& img, const Color& c) {
    std::set<std::pair<int64_t, int64_t>> s;
    Tensor t = img.to(kFloat64).contiguous();
    const int64_t h = img.size(1), w = img.size(2);
    const double* p = t.data_ptr<double>();
    for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x)
            if (near({p[y * w + x], p[(h + y) * w + x], p[(2 * h + y) * w + x]}, c)) s.insert({x, y});
    return s;
}

const Color kWhite{1, 1, 1}, kBlack{0, 0, 0};

}  // namespace

TEST_CASE("make_grid lays images out as torchvision.utils.make_grid", "[data][draw]") {
    auto g = load_fixture("data/make_grid");
    const Tensor batch = g.at("batch");  // [5, 3, 4, 6]
    Tensor plain = make_grid(batch, {.nrow = 2, .padding = 1, .pad_value = 0.5});
    REQUIRE(plain.shape() == Shape{3, 3 * (4 + 1) + 1, 2 * (6 + 1) + 1});
    REQUIRE_THAT(plain, ClosesTo(g.at("plain"), 0));
    // image 3 sits in row 1, column 1: rows 1 + 5 .. , columns 1 + 7 ..
    REQUIRE_THAT(plain.narrow(1, 6, 4).narrow(2, 8, 6), ClosesTo(batch.select(0, 3), 0));
    REQUIRE_THAT(make_grid(batch), ClosesTo(g.at("default"), 0));
    GridOptions range;
    range.nrow = 3;
    range.normalize = true;
    range.value_range = std::array<double, 2>{0.2, 0.8};
    REQUIRE_THAT(make_grid(batch, range), ClosesTo(g.at("range"), 1e-6));
    REQUIRE_THAT(make_grid(batch, {.nrow = 3, .normalize = true}), ClosesTo(g.at("minmax"), 1e-6));
    REQUIRE_THAT(make_grid(batch, {.nrow = 4, .padding = 3, .normalize = true, .scale_each = true}),
                 ClosesTo(g.at("each"), 1e-6));
    REQUIRE_THAT(make_grid(g.at("grey"), {.nrow = 5, .padding = 0}),
                 ClosesTo(g.at("grey_grid"), 0));                                              // 1 -> 3 channels
    REQUIRE_THAT(make_grid(batch.select(0, 0), {.padding = 5}), ClosesTo(g.at("single"), 0));  // no padding
    std::vector<Tensor> list;
    for (int64_t i = 0; i < 5; ++i) list.push_back(batch.select(0, i));
    REQUIRE_THAT(make_grid(list, {.nrow = 2, .padding = 1, .pad_value = 0.5}), ClosesTo(g.at("plain"), 0));
    CHECK_THAT(error_of([&] { make_grid(batch, {.nrow = 0}); }),
               Catch::Equals("make_grid: nrow must be positive and padding non-negative, got nrow=0 padding=2"));
}

TEST_CASE("save_image writes the grid as PNG or JPEG", "[data][draw]") {
    TempDir dir;
    auto g = load_fixture("data/make_grid");
    save_image(g.at("batch"), dir.file("grid.png"), {.nrow = 2, .padding = 1, .pad_value = 0.5});
    Tensor back = read_image(dir.file("grid.png"));
    REQUIRE(back.shape() == Shape{3, 16, 15});
    REQUIRE(eq(back, to_uint8(g.at("plain"))).to(kInt64).sum().item<int64_t>() == back.numel());
    save_image(g.at("batch"), dir.file("grid.JPG"));
    REQUIRE(read_image(dir.file("grid.JPG")).shape() == g.at("default").shape());
    CHECK_THAT(
        error_of([&] { save_image(g.at("batch"), dir.file("grid.tiff")); }),
        Catch::Equals("save_image: " + dir.file("grid.tiff") + ": unknown extension (expected .png, .jpg or .jpeg)"));
}

TEST_CASE("overlay_mask blends the colour by alpha times the mask", "[data][draw]") {
    Tensor img = full({3, 2, 2}, 0.2);
    Tensor mask = ne(from_vector(std::vector<int64_t>{1, 0, 0, 1}, {2, 2}), 0.0);  // bool
    Tensor out = overlay_mask(img, mask, {1, 0, 0}, 0.5);
    CHECK(near(at(out, 0, 0), {0.6, 0.1, 0.1}));  // 0.2 * 0.5 + 1 * 0.5, 0.2 * 0.5
    CHECK(near(at(out, 1, 0), {0.2, 0.2, 0.2}));
    CHECK(near(at(out, 1, 1), {0.6, 0.1, 0.1}));
    CHECK(near(at(img, 0, 0), {0.2, 0.2, 0.2}));  // the input is left alone
    Tensor png_mask = from_vector(std::vector<uint8_t>{255, 0, 0, 255}, {1, 2, 2});
    REQUIRE_THAT(overlay_mask(img, png_mask, {1, 0, 0}, 0.5), ClosesTo(out, 1e-6));
    Tensor soft = full({2, 2}, 0.5);  // alpha 0.5 * 0.5: 0.2 * 0.75 + 0.25
    CHECK(near(at(overlay_mask(img, soft, {1, 1, 1}, 0.5), 1, 0), {0.4, 0.4, 0.4}));
    CHECK_THAT(error_of([&] {
                   overlay_mask(img, zeros({3, 3}));
               }),
               Catch::Equals("overlay_mask: expected a mask [H, W] or [1, H, W] for image [3, 2, 2], got [3, 3]"));
    CHECK_THAT(error_of([&] {
                   overlay_mask(zeros({1, 2, 2}), mask);
               }),
               Catch::Equals("overlay_mask: expected an RGB image [3, H, W], got [1, 2, 2]"));
}

TEST_CASE("draw_points paints the pixel holding each point, as a disc of radius r", "[data][draw]") {
    Tensor img = zeros({3, 5, 6});
    Tensor one = draw_points(img, t32({2.3f, 1.7f}, {1, 2}), {0, 1, 0}, 0);
    CHECK(pixels_of(one, {0, 1, 0}) == std::set<std::pair<int64_t, int64_t>>{{2, 1}});
    Tensor disc = draw_points(img, t32({2.5f, 2.5f, std::nanf(""), 1.0f}, {2, 2}), {0, 1, 0}, 1);
    CHECK(pixels_of(disc, {0, 1, 0}) == std::set<std::pair<int64_t, int64_t>>{{2, 2}, {1, 2}, {3, 2}, {2, 1}, {2, 3}});
    Tensor edge = draw_points(img, t32({0.1f, 4.9f}, {1, 2}), {1, 0, 0}, 1);  // clipped at the border
    CHECK(pixels_of(edge, {1, 0, 0}) == std::set<std::pair<int64_t, int64_t>>{{0, 4}, {1, 4}, {0, 3}});
    CHECK(img.abs().sum().item<double>() == 0);
}

TEST_CASE("draw_boxes outlines the covered pixels, width inward, with labels on a band", "[data][draw]") {
    Tensor img = zeros({3, 8, 8});
    // box (1, 1)-(5, 5) covers pixels 1..4: its outline is the 12 border pixels of that 4x4 square
    Tensor out = draw_boxes(img, t32({1, 1, 5, 5}, {1, 4}), {{1, 1, 1}});
    auto drawn = pixels_of(out, kWhite);
    CHECK(drawn.size() == 12);
    CHECK(drawn.count({1, 1}));
    CHECK(drawn.count({4, 4}));
    CHECK(drawn.count({4, 1}));
    CHECK(!drawn.count({2, 2}));
    CHECK(!drawn.count({5, 5}));
    // width 2 and fractional corners: (0.5, 0.5)-(7.2, 7.9) covers 0..7; the band is 2 pixels thick
    Tensor thick = draw_boxes(img, t32({0.5f, 0.5f, 7.2f, 7.9f}, {1, 4}), {}, {}, 2);
    auto t = pixels_of(thick, palette(0));
    CHECK(t.size() == 64 - 16);
    CHECK(t.count({1, 1}));
    CHECK(!t.count({2, 2}));
    CHECK(near(palette(0), hex_color("#FF3838")));
    // colours per box and a label above the box
    Tensor big = zeros({3, 24, 24});
    Tensor labelled = draw_boxes(big, t32({2, 12, 10, 20, 14, 1, 20, 6}, {2, 4}), {{0, 0, 1}, {0, 1, 0}}, {"A", ""});
    CHECK(near(at(labelled, 2, 12), {0, 0, 1}));
    CHECK(near(at(labelled, 14, 1), {0, 1, 0}));
    CHECK(near(at(labelled, 2, 3), {0, 0, 1}));       // the band: rows 2..11 from column 2
    CHECK(near(at(labelled, 3 + 1, 3 + 0), kWhite));  // 'A' column 1 (0x11): rows 0 and 4 of the glyph
    CHECK(near(at(labelled, 3 + 1, 3 + 4), kWhite));
    CHECK(near(at(labelled, 3 + 1, 3 + 2), {0, 0, 1}));
    CHECK(near(at(labelled, 3 + 0, 3 + 0), {0, 0, 1}));  // 'A' column 0 (0x7E) starts at row 1
    CHECK_THAT(error_of([&] {
                   draw_boxes(img, t32({1, 1, 5, 5}, {1, 4}), {{1, 1, 1}, {1, 1, 1}});
               }),
               Catch::Equals("draw_boxes: 2 colors for 1 boxes (give none, one, or one per box)"));
    CHECK_THAT(error_of([&] {
                   draw_boxes(img, t32({1, 1, 5}, {1, 3}));
               }),
               Catch::Equals("draw_boxes: expected boxes [n, 4], got [1, 3]"));
}

TEST_CASE("draw_text renders the 5x7 font, scaled", "[data][draw]") {
    Tensor img = zeros({3, 8, 12});
    // 'I' is columns {0x00, 0x41, 0x7F, 0x41, 0x00}: a bar in column 2, serifs in rows 0 and 6
    Tensor out = draw_text(img, 0, 0, "I", kWhite);
    std::set<std::pair<int64_t, int64_t>> expect;
    for (int64_t y = 0; y < 7; ++y) expect.insert({2, y});
    for (int64_t x : {1, 3})
        for (int64_t y : {0, 6}) expect.insert({x, y});
    CHECK(pixels_of(out, kWhite) == expect);
    // the next character starts 6 pixels on; '-' is row 3 of columns 0..4
    Tensor dash = draw_text(zeros({3, 10, 12}), 1, 2, "I-", kWhite);
    CHECK(pixels_of(dash, kWhite).size() == expect.size() + 5);
    CHECK(near(at(dash, 7, 5), kWhite));
    CHECK(near(at(dash, 11, 5), kWhite));
    Tensor big = draw_text(zeros({3, 16, 12}), 0, 0, "I", {1, 0, 0}, 2);
    CHECK(pixels_of(big, {1, 0, 0}).size() == expect.size() * 4);
    CHECK(near(at(big, 5, 13), {1, 0, 0}));
    CHECK(text_size("ab\ncde") == Int2{16, 18});
    CHECK(text_size("ab", 3) == Int2{24, 36});
}

TEST_CASE("plot_curves writes a PNG of the stated size with the curve where the frame puts it", "[data][plot]") {
    TempDir dir;
    std::vector<double> x, y, z;
    for (int i = 0; i <= 10; ++i) {
        x.push_back(i);
        y.push_back(i);
        z.push_back(i == 4 ? std::nan("") : 10 - 0.5 * i);
    }
    std::vector<Series> series = {{"train", x, y}, {"val", x, z}};
    plot_curves(dir.file("p.png"), "loss", series);
    Tensor png = read_image(dir.file("p.png"));
    REQUIRE(png.shape() == Shape{3, 500, 800});
    Tensor img = to_float(png);

    PlotFrame f = plot_frame(series, 800, 500);
    CHECK(f.x_min == 0);
    CHECK(f.x_max == 10);
    CHECK(f.y_min == 0);
    CHECK(f.y_max == 10);
    CHECK(f.x_step == 2);
    // along y = x, from the lower left to the upper right of the frame: the first series' blue (1f77b4)
    const Color blue = hex_color("1f77b4");
    int on_line = 0;
    for (int k = 1; k < 20; ++k) {
        const double t = k / 20.0;
        const double px = f.left + t * (f.right - f.left), py = f.bottom - t * (f.bottom - f.top);
        if (near(at(img, static_cast<int64_t>(px), static_cast<int64_t>(py)), blue, 0.01)) ++on_line;
    }
    CHECK(on_line >= 17);  // the legend may cover the top right end
    // the frame's left edge is black, the area away from the curves is white or light grid
    CHECK(near(at(img, f.left, (f.top + f.bottom) / 2), kBlack));
    CHECK(at(img, f.left + 40, f.top + 20)[0] > 0.8);
    // the second series is there too (ff7f0e), the title is at the top
    CHECK(!pixels_of(img, hex_color("ff7f0e")).empty());
    CHECK(!pixels_of(img.narrow(1, 0, f.top), kBlack).empty());
    CHECK_THAT(error_of([&] {
                   plot_curves(dir.file("q.png"), "t", {{"a", {1, 2}, {1}}});
               }),
               Catch::Equals("plot_frame: series 'a' has 2 x values but 1 y values"));
    CHECK_THAT(error_of([&] { render_curves("t", series, 40, 30); }),
               Catch::Equals("plot_curves: a plot of 40x30 pixels is too small for its axes and labels"));
    // a flat series and an empty plot still draw
    REQUIRE(render_curves("", {{"flat", {}, {3, 3, 3}}}, 200, 150).shape() == Shape{3, 150, 200});
    REQUIRE(render_curves("none", {}, 200, 150).shape() == Shape{3, 150, 200});
}

TEST_CASE("plot tick labels show small, flat and large values with the digits they need", "[data][plot]") {
    auto labels = [](const std::vector<double>& y) { return plot_frame({{"", {}, y}}, 400, 300).y_labels; };
    // a constant learning rate of 0.003 (it read "0.0" on a 0 ... 0.6 axis): 10% either side of it
    CHECK(labels({0.003, 0.003, 0.003}) == std::vector<std::string>{"0.0026", "0.0028", "0.003", "0.0032", "0.0034"});
    // a cosine schedule from 0.01 down to 0.0001: steps of 0.002
    CHECK(labels({0.01, 0.005, 0.0001}) ==
          std::vector<std::string>{"0.000", "0.002", "0.004", "0.006", "0.008", "0.010"});
    CHECK(labels({1e-4, 1e-4}) == std::vector<std::string>{"9e-05", "9.5e-05", "1e-04", "1.05e-04", "1.1e-04"});
    CHECK(labels({1e-5, 5e-5}) == std::vector<std::string>{"1e-05", "2e-05", "3e-05", "4e-05", "5e-05"});
    CHECK(labels({2.5e-5, 2.7e-5}) ==
          std::vector<std::string>{"2.5e-05", "2.55e-05", "2.6e-05", "2.65e-05", "2.7e-05"});
    CHECK(labels({0, 1.5e8}) == std::vector<std::string>{"0", "5e+07", "1e+08", "1.5e+08"});
    CHECK(labels({0.25, 0.75}) == std::vector<std::string>{"0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8"});
    CHECK(labels({0, 0}) == std::vector<std::string>{"-0.6", "-0.4", "-0.2", "0.0", "0.2", "0.4", "0.6"});
    // and the rendered panel makes room for the longest label on its left
    const PlotFrame f = plot_frame({{"", {}, {2.5e-5, 2.7e-5}}}, 400, 300);
    CHECK(f.left >= 10 + text_size("2.65e-05").w);
    REQUIRE(render_curves("lr", {{"", {}, {2.5e-5, 2.7e-5}}}, 400, 300).shape() == Shape{3, 300, 400});
}

TEST_CASE("plot_csv draws one panel per column of a training log", "[data][plot]") {
    TempDir dir;
    {
        std::ofstream csv(dir.file("results.csv"));
        csv << "epoch, step, train/loss, val/loss, metrics/iou, time\n";  // (no panels for step and time)
        for (int e = 0; e < 12; ++e)
            csv << e << ", " << 10 * e << ", " << 1.0 / (e + 1) << ", " << 1.2 / (e + 1) << ", "
                << (e == 3 ? "nan" : "0.5") << ", " << 3.5 * e << "\n";
    }
    plot_csv(dir.file("results.csv"), dir.file("results.png"), 2, 300, 200);
    REQUIRE(read_image(dir.file("results.png")).shape() == Shape{3, 400, 600});  // 3 panels in 2 rows of 2
    {
        std::ofstream bad(dir.file("bad.csv"));
        bad << "epoch,loss\n0,1\n1,2,3\n";
    }
    CHECK_THAT(error_of([&] { plot_csv(dir.file("bad.csv"), dir.file("bad.png")); }),
               Catch::Equals("plot_csv: " + dir.file("bad.csv") + ":3: 3 cells, but the header has 2"));
    CHECK_THAT(error_of([&] { plot_csv(dir.file("none.csv"), dir.file("none.png")); }),
               Catch::Equals("plot_csv: " + dir.file("none.csv") + ": cannot open"));
}
