// tests/nn/test_image.cpp — nn/data/image.cpp: PNG round trips (exact), JPEG (close), BMP decoding of a
// hand-made file, mode conversions, every kind of bad file naming the file, write errors, and the float
// conversions against save_image's rule (tests/fixtures/make_data.py).

#include <filesystem>
#include <fstream>
#include <thread>

#include "nn/data/image.h"
#include "support/support.h"

namespace fs = std::filesystem;
using namespace nabla::data;

namespace {

// The number of files in a directory (to check that no temporary file is left behind).
size_t entries(const TempDir& d) {
    return static_cast<size_t>(std::distance(fs::directory_iterator(d.path), fs::directory_iterator()));
}

std::string read_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

Tensor random_image(const Shape& shape, uint64_t seed) {
    Generator g(seed);
    return randint(0, 256, shape, {.dtype = kInt64}, &g).to(kUInt8);
}

// A smooth image (JPEG keeps it well): [3, h, w] gradients.
Tensor smooth_image(int64_t h, int64_t w) {
    Tensor t = empty({3, h, w}, {.dtype = kUInt8});
    uint8_t* p = t.data_ptr<uint8_t>();
    for (int64_t c = 0; c < 3; ++c)
        for (int64_t y = 0; y < h; ++y)
            for (int64_t x = 0; x < w; ++x)
                p[(c * h + y) * w + x] = static_cast<uint8_t>((x * 4 + y * 2 + c * 60) % 256);
    return t;
}

bool equal(const Tensor& a, const Tensor& b) {
    return a.shape() == b.shape() && a.dtype() == b.dtype() && eq(a, b).to(kInt64).sum().item<int64_t>() == a.numel();
}

double mean_abs_diff(const Tensor& a, const Tensor& b) {
    return abs(sub(a.to(kFloat64), b.to(kFloat64))).mean().item<double>();
}

// A 24-bit BMP of rgb [3, h, w]: BITMAPFILEHEADER + BITMAPINFOHEADER, rows bottom-up in BGR padded to 4 bytes.
std::string make_bmp(const Tensor& rgb) {
    const int64_t h = rgb.size(1), w = rgb.size(2), row = (w * 3 + 3) / 4 * 4;
    auto u32 = [](uint32_t v) {
        return std::string{char(v & 0xff), char(v >> 8 & 0xff), char(v >> 16 & 0xff), char(v >> 24)};
    };
    auto u16 = [](uint16_t v) { return std::string{char(v & 0xff), char(v >> 8)}; };
    std::string s = "BM" + u32(static_cast<uint32_t>(54 + row * h)) + u32(0) + u32(54);
    s += u32(40) + u32(static_cast<uint32_t>(w)) + u32(static_cast<uint32_t>(h)) + u16(1) + u16(24) + u32(0) +
         u32(static_cast<uint32_t>(row * h)) + u32(2835) + u32(2835) + u32(0) + u32(0);
    const uint8_t* p = rgb.contiguous().data_ptr<uint8_t>();
    for (int64_t y = h - 1; y >= 0; --y) {
        std::string line;
        for (int64_t x = 0; x < w; ++x)
            for (int64_t c = 2; c >= 0; --c) line += static_cast<char>(p[(c * h + y) * w + x]);
        line.resize(static_cast<size_t>(row), '\0');
        s += line;
    }
    return s;
}

// A PNG file written by hand: IHDR, one IDAT holding the scanlines in a stored (uncompressed) deflate block, IEND.
std::string png_file(uint32_t w, uint32_t h, uint8_t depth, uint8_t color_type, const std::string& scanlines) {
    auto be32 = [](uint32_t v) {
        return std::string{char(v >> 24), char(v >> 16 & 0xff), char(v >> 8 & 0xff), char(v & 0xff)};
    };
    auto crc32 = [](const std::string& bytes) {
        uint32_t c = 0xffffffffu;
        for (unsigned char b : bytes) {
            c ^= b;
            for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
        }
        return c ^ 0xffffffffu;
    };
    auto chunk = [&](const std::string& type, const std::string& data) {
        return be32(static_cast<uint32_t>(data.size())) + type + data + be32(crc32(type + data));
    };
    uint32_t a = 1, b = 0;  // adler32
    for (unsigned char ch : scanlines) a = (a + ch) % 65521, b = (b + a) % 65521;
    const uint16_t len = static_cast<uint16_t>(scanlines.size()), nlen = static_cast<uint16_t>(~len);
    std::string zlib = std::string{'\x78', '\x01', '\x01'} + char(len & 0xff) + char(len >> 8) + char(nlen & 0xff) +
                       char(nlen >> 8) + scanlines + be32((b << 16) | a);
    std::string ihdr = be32(w) + be32(h) + std::string{char(depth), char(color_type), 0, 0, 0};
    return std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", ihdr) + chunk("IDAT", zlib) + chunk("IEND", "");
}

}  // namespace

TEST_CASE("write_png then read_image gives the same pixels for 1 to 4 channels", "[data][image]") {
    TempDir dir;
    for (int64_t c = 1; c <= 4; ++c) {
        Tensor img = random_image({c, 5, 7}, static_cast<uint64_t>(c));
        const std::string path = dir.file(fmt::format("c{}.png", c));
        write_png(path, img);
        Tensor back = read_image(path);
        REQUIRE(back.dtype() == kUInt8);
        REQUIRE(back.shape() == Shape{c, 5, 7});
        REQUIRE(equal(back, img));
    }
    // [H, W] is one grey channel; a non-contiguous view is written as its values
    Tensor hw = random_image({6, 4}, 9);
    write_png(dir.file("hw.png"), hw);
    REQUIRE(equal(read_image(dir.file("hw.png")), hw.unsqueeze(0)));
    Tensor wide = random_image({3, 4, 6}, 10);
    Tensor view = wide.permute({0, 2, 1});  // [3, 6, 4], strided
    write_png(dir.file("view.png"), view);
    REQUIRE(equal(read_image(dir.file("view.png")), view.contiguous()));
    REQUIRE(entries(dir) == 6);  // no temporary files left behind
}

TEST_CASE("write_jpeg then read_image is close; quality and grey", "[data][image]") {
    TempDir dir;
    Tensor img = smooth_image(32, 48);
    write_jpeg(dir.file("q95.jpg"), img);
    write_jpeg(dir.file("q30.jpg"), img, 30);
    Tensor q95 = read_image(dir.file("q95.jpg")), q30 = read_image(dir.file("q30.jpg"));
    REQUIRE(q95.shape() == Shape{3, 32, 48});
    const double d95 = mean_abs_diff(q95, img), d30 = mean_abs_diff(q30, img);
    CHECK(d95 < 3.0);
    CHECK(d30 > d95);  // lower quality loses more
    CHECK(fs::file_size(dir.file("q30.jpg")) < fs::file_size(dir.file("q95.jpg")));

    // stb's JPEG writer always writes YCbCr: a grey image comes back with 3 equal channels, or 1 with Gray
    Tensor grey = smooth_image(16, 16).select(0, 0);
    write_jpeg(dir.file("grey.jpg"), grey);
    Tensor back = read_image(dir.file("grey.jpg"), ImageMode::Gray);
    REQUIRE(back.shape() == Shape{1, 16, 16});
    CHECK(mean_abs_diff(back, grey.unsqueeze(0)) < 3.0);
    REQUIRE(read_image(dir.file("grey.jpg")).shape() == Shape{3, 16, 16});
    // JPEG has no alpha: RGBA writes RGB
    Tensor rgba = cat({img, full({1, 32, 48}, 7, {.dtype = kUInt8})}, 0);
    write_jpeg(dir.file("rgba.jpg"), rgba);
    REQUIRE(read_image(dir.file("rgba.jpg")).shape() == Shape{3, 32, 48});
}

TEST_CASE("read_image decodes a hand-made BMP", "[data][image]") {
    TempDir dir;
    Tensor rgb = random_image({3, 3, 5}, 4);  // width 5: rows padded from 15 to 16 bytes
    write_bytes(dir.file("a.bmp"), make_bmp(rgb));
    REQUIRE(equal(read_image(dir.file("a.bmp")), rgb));
    REQUIRE(equal(read_image(dir.file("a.bmp"), ImageMode::RGB), rgb));
}

TEST_CASE("read_image reduces a 16-bit PNG to its high bytes", "[data][image]") {
    TempDir dir;
    // grey 16-bit, 2x2: scanlines of filter byte 0 then big-endian samples
    const std::string rows = std::string("\x00\x12\x34\xab\xcd", 5) + std::string("\x00\xff\xff\x00\x80", 5);
    write_bytes(dir.file("deep.png"), png_file(2, 2, 16, 0, rows));
    Tensor img = read_image(dir.file("deep.png"));
    REQUIRE(img.shape() == Shape{1, 2, 2});
    REQUIRE(equal(img, from_vector(std::vector<uint8_t>{0x12, 0xab, 0xff, 0x00}, {1, 2, 2})));
    // the same file as 8-bit RGB: 1x2 pixels
    const std::string rgb_rows = std::string("\x00\x01\x02\x03\xfd\xfe\xff", 7);
    write_bytes(dir.file("rgb8.png"), png_file(2, 1, 8, 2, rgb_rows));
    REQUIRE(
        equal(read_image(dir.file("rgb8.png")), from_vector(std::vector<uint8_t>{1, 253, 2, 254, 3, 255}, {3, 1, 2})));
}

TEST_CASE("read_image modes convert channels as stb_image does", "[data][image]") {
    TempDir dir;
    Tensor rgb = from_vector(std::vector<uint8_t>{255, 0, 10, 200, 0, 255, 30, 100, 0, 0, 250, 50}, {3, 2, 2});
    write_png(dir.file("rgb.png"), rgb);
    // grey = (77 r + 150 g + 29 b) >> 8
    Tensor grey = read_image(dir.file("rgb.png"), ImageMode::Gray);
    REQUIRE(grey.shape() == Shape{1, 2, 2});
    auto y = [](int r, int g, int b) { return static_cast<uint8_t>((77 * r + 150 * g + 29 * b) >> 8); };
    REQUIRE(equal(grey, from_vector(std::vector<uint8_t>{y(255, 0, 0), y(0, 255, 0), y(10, 30, 250), y(200, 100, 50)},
                                    {1, 2, 2})));
    Tensor rgba = read_image(dir.file("rgb.png"), ImageMode::RGBA);
    REQUIRE(rgba.shape() == Shape{4, 2, 2});
    REQUIRE(equal(rgba.narrow(0, 0, 3), rgb));
    REQUIRE(equal(rgba.select(0, 3), full({2, 2}, 255, {.dtype = kUInt8})));

    Tensor g1 = from_vector(std::vector<uint8_t>{0, 64, 128, 255}, {1, 2, 2});
    write_png(dir.file("grey.png"), g1);
    Tensor as_rgb = read_image(dir.file("grey.png"), ImageMode::RGB);
    REQUIRE(as_rgb.shape() == Shape{3, 2, 2});
    for (int64_t c = 0; c < 3; ++c) REQUIRE(equal(as_rgb.select(0, c), g1.select(0, 0)));
    Tensor ga = read_image(dir.file("grey.png"), ImageMode::GrayAlpha);
    REQUIRE(ga.shape() == Shape{2, 2, 2});
    REQUIRE(equal(ga.select(0, 1), full({2, 2}, 255, {.dtype = kUInt8})));

    Tensor rgba_in = random_image({4, 3, 3}, 5);
    write_png(dir.file("rgba.png"), rgba_in);
    REQUIRE(equal(read_image(dir.file("rgba.png"), ImageMode::RGB), rgba_in.narrow(0, 0, 3)));
}

TEST_CASE("read_image: missing, empty, foreign, truncated and corrupt files name the file and the fault",
          "[data][image]") {
    TempDir dir;
    const std::string missing = dir.file("missing.png");
    CHECK_THAT(error_of([&] { read_image(missing); }),
               Catch::Equals("read_image: " + missing + ": cannot open: No such file or directory"));
    CHECK_THAT(error_of([&] { read_image(dir.path.string()); }), Catch::Contains("cannot read: Is a directory"));

    write_bytes(dir.file("empty.png"), "");
    CHECK_THAT(error_of([&] { read_image(dir.file("empty.png")); }),
               Catch::Equals("read_image: " + dir.file("empty.png") + ": empty file"));

    Generator g(3);
    std::string noise;
    for (int i = 0; i < 4096; ++i) noise += static_cast<char>(g.randint(0, 256));
    noise[0] = 'x';
    write_bytes(dir.file("noise.jpg"), noise);
    CHECK_THAT(
        error_of([&] { read_image(dir.file("noise.jpg")); }),
        Catch::StartsWith("read_image: " + dir.file("noise.jpg") + ": not a PNG, JPEG or BMP file (starts with 78 "));

    // PNG: cut in the pixel data, before IEND, inside the header; a zero width in IHDR
    write_png(dir.file("ok.png"), random_image({3, 40, 40}, 6));
    const std::string png = read_bytes(dir.file("ok.png"));
    for (size_t keep : {png.size() / 2, png.size() - 12, size_t{20}}) {
        write_bytes(dir.file("cut.png"), png.substr(0, keep));
        INFO("kept " << keep << " of " << png.size() << " bytes");
        CHECK_THAT(error_of([&] { read_image(dir.file("cut.png")); }),
                   Catch::StartsWith("read_image: " + dir.file("cut.png") + ": corrupt or truncated PNG (stb_image: "));
    }
    std::string zero_width = png;
    zero_width.replace(16, 4, std::string(4, '\0'));
    write_bytes(dir.file("zero.png"), zero_width);
    CHECK_THAT(error_of([&] { read_image(dir.file("zero.png")); }), Catch::Contains("corrupt or truncated PNG"));
    // a header that claims 60000 x 60000 pixels: too large, not "corrupt" (IHDR's width and height, big-endian)
    std::string huge = png;
    for (size_t at : {size_t{16}, size_t{20}}) huge.replace(at, 4, std::string("\x00\x00\xea\x60", 4));
    write_bytes(dir.file("huge.png"), huge);
    CHECK_THAT(
        error_of([&] { read_image(dir.file("huge.png")); }),
        Catch::Equals("read_image: " + dir.file("huge.png") +
                      ": PNG header claims 60000x60000 pixels, too large to decode (at most 268435456 are accepted)"));

    // JPEG: cut in the entropy-coded data and right after the header
    write_jpeg(dir.file("ok.jpg"), smooth_image(40, 40));
    const std::string jpg = read_bytes(dir.file("ok.jpg"));
    for (size_t keep : {jpg.size() / 2, size_t{100}, size_t{3}}) {
        write_bytes(dir.file("cut.jpg"), jpg.substr(0, keep));
        INFO("kept " << keep << " of " << jpg.size() << " bytes");
        CHECK_THAT(
            error_of([&] { read_image(dir.file("cut.jpg")); }),
            Catch::StartsWith("read_image: " + dir.file("cut.jpg") + ": corrupt or truncated JPEG (stb_image: "));
    }

    // BMP: a bad info header, and pixel data cut short
    const std::string bmp = make_bmp(random_image({3, 4, 4}, 7));
    std::string bad_header = bmp;
    bad_header[14] = 99;
    write_bytes(dir.file("bad.bmp"), bad_header);
    CHECK_THAT(
        error_of([&] { read_image(dir.file("bad.bmp")); }),
        Catch::Equals("read_image: " + dir.file("bad.bmp") + ": corrupt or truncated BMP (info header size 99)"));
    write_bytes(dir.file("cut.bmp"), bmp.substr(0, 40));
    CHECK_THAT(error_of([&] { read_image(dir.file("cut.bmp")); }), Catch::Contains("corrupt or truncated BMP"));
}

TEST_CASE("verify_image accepts what read_image decodes and rejects what it refuses, with its message",
          "[data][image]") {
    TempDir dir;
    write_png(dir.file("ok.png"), random_image({3, 40, 40}, 6));
    write_jpeg(dir.file("ok.jpg"), smooth_image(40, 40));
    verify_image(dir.file("ok.png"));
    verify_image(dir.file("ok.jpg"));
    const std::string png = read_bytes(dir.file("ok.png")), jpg = read_bytes(dir.file("ok.jpg"));
    write_bytes(dir.file("tail.jpg"), jpg + "camera data after the end marker");  // decodes: accepted
    verify_image(dir.file("tail.jpg"));
    write_bytes(dir.file("empty.png"), "");
    write_bytes(dir.file("cut.png"), png.substr(0, png.size() - 12));  // the pixels are whole, IEND is missing
    write_bytes(dir.file("half.png"), png.substr(0, png.size() / 2));
    write_bytes(dir.file("half.jpg"), jpg.substr(0, jpg.size() / 2));
    for (const char* name : {"missing.png", "empty.png", "cut.png", "half.png", "half.jpg"}) {
        INFO(name);
        const std::string expected = error_of([&] { read_image(dir.file(name)); });
        CHECK_THAT(expected, Catch::StartsWith("read_image: " + dir.file(name) + ": "));
        CHECK(error_of([&] { verify_image(dir.file(name)); }) == expected);
    }
}

TEST_CASE("read_image is safe to call from several threads at once", "[data][image]") {
    TempDir dir;
    Tensor img = random_image({3, 24, 24}, 8);
    write_png(dir.file("ok.png"), img);
    write_bytes(dir.file("bad.png"), read_bytes(dir.file("ok.png")).substr(0, 60));
    std::vector<int> good(4, 0), failed(4, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 20; ++i) {
                if (equal(read_image(dir.file("ok.png")), img)) ++good[t];
                if (error_of([&] { read_image(dir.file("bad.png")); }).find("corrupt or truncated PNG") !=
                    std::string::npos)
                    ++failed[t];
            }
        });
    for (auto& t : threads) t.join();
    for (int t = 0; t < 4; ++t) {
        CHECK(good[t] == 20);
        CHECK(failed[t] == 20);
    }
}

TEST_CASE("write_png / write_jpeg: bad tensors and paths are errors naming the path; nothing is left behind",
          "[data][image]") {
    TempDir dir;
    const std::string nowhere = dir.file("no/such/dir/a.png");
    CHECK_THAT(error_of([&] {
                   write_png(nowhere, random_image({3, 2, 2}, 1));
               }),
               Catch::StartsWith("write_png: " + nowhere + ": cannot create " + nowhere + ".tmp.") &&
                   Catch::EndsWith("No such file or directory"));
    CHECK_THAT(error_of([&] {
                   write_png(dir.file("f.png"), rand({3, 2, 2}));
               }),
               Catch::Equals("write_png: " + dir.file("f.png") +
                             ": expected a uint8 image, got float32 [3, 2, 2] (convert [0, 1] floats with to_uint8)"));
    CHECK_THAT(error_of([&] {
                   write_png(dir.file("f.png"), random_image({5, 2, 2}, 1));
               }),
               Catch::Equals("write_png: " + dir.file("f.png") + ": expected 1 to 4 channels, got [5, 2, 2]"));
    CHECK_THAT(error_of([&] {
                   write_png(dir.file("f.png"), random_image({2, 3, 2, 2}, 1));
               }),
               Catch::Contains("expected an image [C, H, W] or [H, W], got [2, 3, 2, 2]"));
    CHECK_THAT(error_of([&] {
                   write_png(dir.file("f.png"), random_image({3, 0, 2}, 1));
               }),
               Catch::Contains("image sides must be in [1, 65535], got [3, 0, 2]"));
    CHECK_THAT(error_of([&] {
                   write_jpeg(dir.file("f.jpg"), random_image({3, 2, 2}, 1), 0);
               }),
               Catch::Equals("write_jpeg: " + dir.file("f.jpg") + ": quality must be in [1, 100], got 0"));
    // a directory in the way of the rename: the old entry stays, the temporary file goes
    fs::create_directories(dir.file("taken.png"));
    CHECK_THAT(error_of([&] {
                   write_png(dir.file("taken.png"), random_image({1, 2, 2}, 1));
               }),
               Catch::Contains("cannot rename"));
    REQUIRE(entries(dir) == 1);
    // overwriting an existing file replaces it
    write_png(dir.file("x.png"), random_image({1, 2, 2}, 1));
    Tensor second = random_image({1, 3, 3}, 2);
    write_png(dir.file("x.png"), second);
    REQUIRE(equal(read_image(dir.file("x.png")), second));
    REQUIRE(entries(dir) == 2);
}

TEST_CASE("to_float and to_uint8 follow ToTensor and save_image", "[data][image]") {
    auto g = load_fixture("data/to_uint8");  // x.mul(255).add_(0.5).clamp_(0, 255).to(uint8) in PyTorch
    Tensor y = to_uint8(g.at("x"));
    REQUIRE(y.dtype() == kUInt8);
    REQUIRE(equal(y, g.at("y")));
    Tensor u = from_vector(std::vector<uint8_t>{0, 51, 255});
    REQUIRE_THAT(to_float(u), ClosesTo(t32({0.0f, 0.2f, 1.0f}), 1e-7));
    REQUIRE(to_float(u).dtype() == kFloat32);
    Tensor all = arange(256).to(kUInt8);
    REQUIRE(equal(to_uint8(to_float(all)), all));  // the round trip is exact
    REQUIRE(to_uint8(t32({std::nanf("")})).item<int64_t>() == 0);
    CHECK_THAT(error_of([] { to_float(rand({2})); }),
               Catch::Equals("to_float: expected a uint8 image, got float32 [2]"));
    CHECK_THAT(error_of([] { to_uint8(arange(3)); }),
               Catch::Equals("to_uint8: expected a floating image in [0, 1], got int64 [3]"));
}
