// tests/fuzz/test_limits.cpp — the resource limits of the readers of outside data: a file that claims a huge size is
// refused at once, with a message that says the limit, before anything of that size is allocated or read.
//   safetensors: a header claiming a 10^12-element tensor; images: a PNG or BMP header claiming 60000 x 60000;
//   YOLO label files: a (sparse) file of 10^8 bytes, over kMaxLabelFileBytes.
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "apps/detection_data.h"
#include "nn/data/image.h"
#include "support/support.h"

namespace fs = std::filesystem;
using namespace nabla;
using Catch::Matchers::Contains;

namespace {

std::string scratch(const std::string& name) {
    const fs::path dir = fs::temp_directory_path() / ("nabla-limits-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return (dir / name).string();
}

void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string safetensors_file(const std::string& header) {
    std::string out(8, '\0');
    const uint64_t n = header.size();
    std::memcpy(out.data(), &n, 8);
    return out + header;
}

void put_be32(std::string& s, uint32_t v) {
    for (int k = 3; k >= 0; --k) s += static_cast<char>((v >> (8 * k)) & 0xff);
}

// A PNG signature and a well-formed IHDR (crc included) for width x height RGB, then an empty IDAT and IEND.
std::string png_header(uint32_t width, uint32_t height) {
    std::string out = "\x89PNG\r\n\x1a\n";
    auto chunk = [&](const std::string& tag, const std::string& body) {
        put_be32(out, static_cast<uint32_t>(body.size()));
        const std::string data = tag + body;
        out += data;
        put_be32(out, static_cast<uint32_t>(
                          ::crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size()))));
    };
    std::string ihdr;
    put_be32(ihdr, width);
    put_be32(ihdr, height);
    ihdr += std::string("\x08\x02\x00\x00\x00", 5);
    chunk("IHDR", ihdr);
    chunk("IDAT", "");
    chunk("IEND", "");
    return out;
}

template <class F>
double seconds(F&& f) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("limits: a safetensors header claiming a 10^12-element tensor is refused before any allocation") {
    const std::string path = scratch("huge.safetensors");
    // 10^6 x 10^6 float32 = 4 TB claimed by a file of a hundred bytes.
    write_bytes(path, safetensors_file(R"({"w":{"dtype":"F32","shape":[1000000,1000000],"data_offsets":[0,4]}})") +
                          std::string(4, '\0'));
    const double s = seconds(
        [&] { REQUIRE_THROWS_WITH(load_safetensors(path), Contains(path) && Contains("needs 4000000000000 bytes")); });
    CHECK(s < 1.0);
    write_bytes(
        path, safetensors_file(R"({"w":{"dtype":"F32","shape":[1000000,1000000],"data_offsets":[0,4000000000000]}})"));
    REQUIRE_THROWS_WITH(load_safetensors(path), Contains("beyond the data buffer of 0 bytes"));
    write_bytes(path, std::string("\xff\xff\xff\xff\xff\xff\xff\x7f{}", 10));  // a header length of 2^63
    REQUIRE_THROWS_WITH(load_safetensors(path), Contains("exceeds the limit of 100000000 bytes"));
}

TEST_CASE("limits: an image whose header claims 60000 x 60000 pixels is refused, naming the limit") {
    const std::string png = png_header(60000, 60000);
    const double s = seconds([&] {
        REQUIRE_THROWS_WITH(data::decode_image(reinterpret_cast<const uint8_t*>(png.data()), png.size(),
                                               data::ImageMode::RGB, "huge.png"),
                            Contains("huge.png") && Contains("60000x60000") && Contains("268435456"));
    });
    CHECK(s < 1.0);
    const std::string path = scratch("huge.png");
    write_bytes(path, png);
    REQUIRE_THROWS_WITH(data::read_image(path), Contains(path) && Contains("too large"));
    // A BMP info header (40 bytes) claiming 60000 x 60000 at 24 bits, with no pixels after it.
    std::string bmp = "BM";
    auto le32 = [&](uint32_t v) {
        for (int k = 0; k < 4; ++k) bmp += static_cast<char>((v >> (8 * k)) & 0xff);
    };
    le32(54), le32(0), le32(54), le32(40), le32(60000), le32(60000);
    bmp += std::string("\x01\x00\x18\x00", 4);
    le32(0), le32(0), le32(2835), le32(2835), le32(0), le32(0);
    REQUIRE_THROWS_WITH(
        data::decode_image(reinterpret_cast<const uint8_t*>(bmp.data()), bmp.size(), data::ImageMode::RGB, "huge.bmp"),
        Contains("huge.bmp") && (Contains("too large") || Contains("corrupt")));
}

TEST_CASE("limits: a YOLO label file of 10^8 bytes is refused before it is read, naming the limit") {
    const std::string path = scratch("huge_labels.txt");
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(::ftruncate(fd, 100'000'000) == 0);  // sparse: 10^8 bytes (at least that many lines' worth) on no disk
    ::close(fd);
    const double s = seconds([&] {
        REQUIRE_THROWS_WITH(apps::read_label_file(path, 80),
                            Contains(path) && Contains("100000000 bytes") && Contains("limit of 67108864 bytes"));
    });
    CHECK(s < 1.0);
    // Just under the limit the file is read (one line of 5 numbers padded with blank lines).
    std::string ok = "0 0.5 0.5 0.1 0.1\n";
    ok.resize(4096, '\n');
    write_bytes(path, ok);
    CHECK(apps::read_label_file(path, 80).size() == 1);
    fs::remove_all(fs::path(path).parent_path());
}
