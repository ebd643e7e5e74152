// nn/data/image.cpp — image files through stb_image / stb_image_write (torchvision.io.read_image, write_png,
// write_jpeg). The format is recognised by its magic bytes before stb sees the data: stb would otherwise try every
// decoder it has, and its TGA decoder accepts almost any bytes. stb decodes to interleaved [H, W, C]; we return
// [C, H, W]. stb's failure reason is per thread in Debian's build (STBI_THREAD_LOCAL), the rest is local state.
#include "nn/data/image.h"

#include <fcntl.h>
#include <stb_image.h>
#include <stb_image_write.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string_view>

#include "ops/elementwise.h"
#include "ops/factory.h"

namespace nabla::data {
namespace {

constexpr int64_t kMaxPixels = int64_t{1} << 28;  // 16384 x 16384: more is a corrupt header, not a training image

int requested_channels(ImageMode mode) {
    switch (mode) {
        case ImageMode::Unchanged: return 0;
        case ImageMode::Gray: return 1;
        case ImageMode::GrayAlpha: return 2;
        case ImageMode::RGB: return 3;
        case ImageMode::RGBA: return 4;
    }
    return 0;
}

uint32_t u32_le(const uint8_t* p) { return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24); }

// "PNG", "JPEG" or "BMP" from the first bytes, or an Error saying what the bytes are not.
std::string_view sniff_format(const uint8_t* d, size_t n, const std::string& name) {
    auto fail = [&](const auto&... args) { return Error(detail::concat("read_image: ", name, ": ", args...)); };
    if (n == 0) throw fail("empty file");
    static constexpr uint8_t kPng[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
    if (n >= 8 && std::memcmp(d, kPng, 8) == 0) return "PNG";
    if (n >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff) return "JPEG";
    if (n >= 2 && d[0] == 'B' && d[1] == 'M') {
        // stb's BMP test also wants a known info-header size; without one it would fall through to other decoders.
        const uint32_t header = n >= 18 ? u32_le(d + 14) : 0;
        if (header != 12 && header != 40 && header != 56 && header != 108 && header != 124)
            throw fail("corrupt or truncated BMP (info header size ", header, ")");
        return "BMP";
    }
    std::string first;
    for (size_t i = 0; i < std::min<size_t>(n, 8); ++i) first += fmt::format("{}{:02x}", i ? " " : "", d[i]);
    throw fail("not a PNG, JPEG or BMP file (starts with ", first, ")");
}

std::string read_file(const std::string& path) {
    auto fail = [&](const char* what) {
        return Error(detail::concat("read_image: ", path, ": cannot ", what, ": ", std::strerror(errno)));
    };
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw fail("open");
    std::unique_ptr<int, void (*)(int*)> guard(new int(fd), [](int* f) {
        ::close(*f);
        delete f;
    });
    struct stat st {};
    if (::fstat(fd, &st) != 0) throw fail("stat");
    std::string bytes;
    bytes.reserve(S_ISREG(st.st_mode) ? static_cast<size_t>(st.st_size) : 0);
    char buf[1 << 16];
    for (;;) {
        const ssize_t got = ::read(fd, buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) throw fail("read");
        if (got == 0) break;
        bytes.append(buf, static_cast<size_t>(got));
    }
    return bytes;
}

// image as interleaved [H, W, C] uint8 bytes, after checking what the writers accept.
struct Interleaved {
    Tensor hwc;
    int h, w, c;
};
Interleaved interleave(const Tensor& image, const char* fn, const std::string& path) {
    NB_CHECK(image.defined() && (image.dim() == 2 || image.dim() == 3), fn, ": ", path,
             ": expected an image [C, H, W] or [H, W], got ", image.defined() ? shape_str(image.shape()) : "undefined");
    if (image.dtype() != kUInt8)
        throw TypeError(detail::concat(fn, ": ", path, ": expected a uint8 image, got ", dtype_name(image.dtype()), " ",
                                       image.shape(), " (convert [0, 1] floats with to_uint8)"));
    Tensor chw = image.dim() == 2 ? image.unsqueeze(0) : image;
    const int64_t c = chw.size(0), h = chw.size(1), w = chw.size(2);
    NB_CHECK(c >= 1 && c <= 4, fn, ": ", path, ": expected 1 to 4 channels, got ", image.shape());
    NB_CHECK(h > 0 && w > 0 && h <= 65535 && w <= 65535, fn, ": ", path, ": image sides must be in [1, 65535], got ",
             image.shape());
    return {chw.detach().to(kCPU).permute({1, 2, 0}).contiguous(), static_cast<int>(h), static_cast<int>(w),
            static_cast<int>(c)};
}

void append_bytes(void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<size_t>(size));
}

// The PNG encoding of a uint8 image; `fn` and `name` for the errors.
std::string png_bytes(const Tensor& image, const char* fn, const std::string& name) {
    const Interleaved im = interleave(image, fn, name);
    std::string bytes;
    if (!stbi_write_png_to_func(append_bytes, &bytes, im.w, im.h, im.c, im.hwc.data_ptr<uint8_t>(), im.w * im.c))
        throw Error(detail::concat(fn, ": ", name, ": PNG encoding failed for ", image.shape()));
    return bytes;
}

// Writes bytes to "<path>.tmp.<pid>.<n>", fsyncs and renames it over path; the temporary file never outlives a failure.
void write_file_atomically(const char* fn, const std::string& path, const std::string& bytes) {
    static std::atomic<uint64_t> counter{0};
    const std::string tmp = detail::concat(path, ".tmp.", ::getpid(), ".", counter++);
    auto fail = [&](const char* what, const std::string& target) {
        const std::string reason = std::strerror(errno);
        ::unlink(tmp.c_str());
        return Error(detail::concat(fn, ": ", path, ": cannot ", what, " ", target, ": ", reason));
    };
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) throw Error(detail::concat(fn, ": ", path, ": cannot create ", tmp, ": ", std::strerror(errno)));
    size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (n == 0) errno = EIO;
            const int saved = errno;
            ::close(fd);
            errno = saved;
            throw fail("write", tmp);
        }
        done += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0) {
        const int saved = errno;
        ::close(fd);
        errno = saved;
        throw fail("fsync", tmp);
    }
    if (::close(fd) != 0) throw fail("close", tmp);
    if (std::rename(tmp.c_str(), path.c_str()) != 0) throw fail("rename", tmp + " over it");
}

// What a file's header says, checked: its format, and a size within kMaxPixels that stb_image can decode.
struct Header {
    std::string_view format;
    int w = 0, h = 0, channels = 0;
};

Error corrupt_error(const std::string& name, std::string_view format, const char* reason) {
    return Error(detail::concat("read_image: ", name, ": corrupt or truncated ", format,
                                " (stb_image: ", reason ? reason : "unknown", ")"));
}

// stb_image 2.27 (Debian 12's) writes past its Huffman tables when the 16 code counts of a DHT table add up to more
// than 256 (CVE-2021-37789, fixed in 2.28; it happens in stbi_info already): such a JPEG is refused here first.
// Walks the markers as stb does, through the entropy-coded data too (progressive files have DHTs between scans).
void check_jpeg_huffman_tables(const uint8_t* d, size_t n, const std::string& name) {
    for (size_t i = 2; i + 4 <= n;) {
        if (d[i] != 0xff || d[i + 1] == 0xff) {  // entropy-coded data, or a fill byte
            ++i;
            continue;
        }
        const uint8_t marker = d[i + 1];
        if (marker == 0x00 || marker == 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {  // stuffed 0xff, TEM, RSTn, SOI
            i += 2;
            continue;
        }
        if (marker == 0xd9) return;  // EOI
        const size_t end = i + 2 + ((size_t{d[i + 2]} << 8) | d[i + 3]);
        // DHT: tables of (class and id, 16 code counts, the values)
        for (size_t p = i + 4; marker == 0xc4 && p < end && p + 17 <= n;) {
            size_t codes = 0;
            for (size_t k = 1; k <= 16; ++k) codes += d[p + k];
            if (codes > 256)
                throw corrupt_error(name, "JPEG", detail::concat("a Huffman table of ", codes, " codes").c_str());
            p += 17 + codes;
        }
        i = end;
    }
}

Header read_header(const uint8_t* data, size_t size, const std::string& name) {
    const std::string_view format = sniff_format(data, size, name);
    auto corrupt = [&](const char* reason) { return corrupt_error(name, format, reason); };
    if (size > static_cast<size_t>(INT_MAX)) throw Error(detail::concat("read_image: ", name, ": file over 2 GB"));
    const int len = static_cast<int>(size);
    auto too_large = [&](uint64_t w, uint64_t h) {
        return Error(detail::concat("read_image: ", name, ": ", format, " header claims ", w, "x", h,
                                    " pixels, too large to decode (at most ", kMaxPixels, " are accepted)"));
    };
    // A PNG's size is in its IHDR (big-endian width and height at bytes 16 and 20): one that claims, say, 60000 x
    // 60000 is refused as that, where stb_image, trying every format in turn, would only say "unknown image type".
    if (format == "PNG" && size >= 24) {
        const auto be32 = [&](size_t at) {
            return (uint64_t{data[at]} << 24) | (uint64_t{data[at + 1]} << 16) | (uint64_t{data[at + 2]} << 8) |
                   uint64_t{data[at + 3]};
        };
        if (be32(16) * be32(20) > static_cast<uint64_t>(kMaxPixels)) throw too_large(be32(16), be32(20));
    }
    if (format == "JPEG") check_jpeg_huffman_tables(data, size, name);
    Header header{format};
    if (!stbi_info_from_memory(data, len, &header.w, &header.h, &header.channels)) throw corrupt(stbi_failure_reason());
    if (header.w <= 0 || header.h <= 0) throw corrupt("a zero or negative width or height");
    if (static_cast<int64_t>(header.w) * header.h > kMaxPixels) throw too_large(header.w, header.h);
    return header;
}

}  // namespace

Tensor decode_image(const uint8_t* data, size_t size, ImageMode mode, const std::string& name) {
    const Header header = read_header(data, size, name);
    int w = header.w, h = header.h, file_c = header.channels;
    const int req = requested_channels(mode);
    std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
        stbi_load_from_memory(data, static_cast<int>(size), &w, &h, &file_c, req), stbi_image_free);
    if (!pixels) throw corrupt_error(name, header.format, stbi_failure_reason());
    const int64_t c = req ? req : file_c, hw = static_cast<int64_t>(h) * w;
    Tensor out = empty({c, h, w}, {.dtype = kUInt8});  // [C, H, W] from interleaved [H, W, C]
    uint8_t* dst = out.data_ptr<uint8_t>();
    const uint8_t* src = pixels.get();
    for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t i = 0; i < hw; ++i) dst[ch * hw + i] = src[i * c + ch];
    return out;
}

Int2 image_size(const uint8_t* data, size_t size, const std::string& name) {
    const Header header = read_header(data, size, name);
    return {header.h, header.w};
}

void verify_image(const std::string& path) {
    const std::string bytes = read_file(path);
    const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
    const Header header = read_header(data, bytes.size(), path);
    // The end of the data: a JPEG's EOI marker (ff d9, as ultralytics checks), a PNG's IEND chunk (its 12 last bytes).
    // Without it the file is truncated or has bytes appended (some cameras do): decoding it decides.
    static constexpr uint8_t kIend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
    const size_t n = bytes.size();
    const bool ends = header.format == "JPEG"  ? n >= 2 && data[n - 2] == 0xff && data[n - 1] == 0xd9
                      : header.format == "PNG" ? n >= 12 && std::memcmp(data + n - 12, kIend, 12) == 0
                                               : true;
    if (!ends) decode_image(data, n, ImageMode::Unchanged, path);
}

Tensor read_image(const std::string& path, ImageMode mode) {
    const std::string bytes = read_file(path);
    return decode_image(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), mode, path);
}

std::string encode_png(const Tensor& image) { return png_bytes(image, "encode_png", "<memory>"); }

void write_png(const std::string& path, const Tensor& image) {
    write_file_atomically("write_png", path, png_bytes(image, "write_png", path));
}

void write_jpeg(const std::string& path, const Tensor& image, int quality) {
    NB_CHECK_VALUE(quality >= 1 && quality <= 100, "write_jpeg: ", path, ": quality must be in [1, 100], got ",
                   quality);
    const Interleaved im = interleave(image, "write_jpeg", path);
    std::string bytes;
    if (!stbi_write_jpg_to_func(append_bytes, &bytes, im.w, im.h, im.c, im.hwc.data_ptr<uint8_t>(), quality))
        throw Error(detail::concat("write_jpeg: ", path, ": JPEG encoding failed for ", image.shape()));
    write_file_atomically("write_jpeg", path, bytes);
}

Tensor to_float(const Tensor& image) {
    if (image.dtype() != kUInt8)
        throw TypeError(
            detail::concat("to_float: expected a uint8 image, got ", dtype_name(image.dtype()), " ", image.shape()));
    return div(image.to(kFloat32), 255.0);
}

Tensor to_uint8(const Tensor& image) {
    if (!is_floating(image.dtype()))
        throw TypeError(detail::concat("to_uint8: expected a floating image in [0, 1], got ", dtype_name(image.dtype()),
                                       " ", image.shape()));
    // NaN would reach an undefined float -> integer conversion: map it to 0 first.
    Tensor x = add(mul(image.detach(), 255.0), 0.5);
    x = where(eq(x, x), x, 0.0);
    return clamp(x, 0.0, 255.0).to(kUInt8);
}

}  // namespace nabla::data
