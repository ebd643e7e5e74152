// nn/safetensors.cpp — safetensors files: safetensors.torch.load_file / save_file.
//
// Layout (https://github.com/huggingface/safetensors): u64 little-endian N | N bytes of JSON | data buffer.
//   {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ..., "__metadata__": {"k": "v"}}
// Offsets are relative to the data buffer. The reader follows the reference implementation's validation: the header
// is at most 100 MB, every entry is well formed, nbytes == numel * element size, and the tensors tile the data
// buffer exactly (no overlap, no gap, nothing after the last one). A file that passes is read in one sequential pass
// straight into the tensors' storage. F32/F64/I64/U8/BOOL load as themselves; I32 loads as int64 and F16/BF16 as
// float32, since published checkpoints use them; SaveOptions::half writes float32 as F16 (float_to_half, rounded to
// nearest even), for shipped weights at half the size. The writer writes "<path>.tmp.<pid>.<n>", fsyncs it and renames
// it over the target, so a failed or interrupted save keeps the old file; a later save of the same path removes the
// temporary files of saves whose process was killed.
// Longer than an op file (about 380 lines) because every fault a malformed file can have gets its own message.
#include "nn/safetensors.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>

namespace nabla {
namespace {

using json = nlohmann::json;
static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian; add byte swaps here");

constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // the reference implementation's limit
constexpr int kMaxHeaderDepth = 64;                // a valid header nests 3 deep
constexpr const char* kTempInfix = ".tmp.";        // a save writes <path>.tmp.<pid>.<n> and renames it over <path>

// zlib's crc32 of a buffer of any length (crc32_z takes a size_t) as 8 hex digits.
std::string crc32_hex(const void* data, uint64_t nbytes) {
    const uLong crc = ::crc32_z(0L, static_cast<const Bytef*>(data), static_cast<z_size_t>(nbytes));
    return fmt::format("{:08x}", static_cast<uint32_t>(crc));
}

// A dtype as a file spells it: its bytes per element and the Nabla dtype it loads as.
struct FileDType {
    std::string_view tag;
    uint64_t size;
    DType dtype;
};
constexpr FileDType kFileDTypes[] = {
    {"F32", 4, kFloat32}, {"F64", 8, kFloat64}, {"I64", 8, kInt64},   {"U8", 1, kUInt8},
    {"BOOL", 1, kBool},   {"I32", 4, kInt64},   {"F16", 2, kFloat32}, {"BF16", 2, kFloat32},
};
// Known to the format, not (yet) to Nabla: named as such in the error rather than as "unknown".
constexpr std::string_view kUnsupportedTags[] = {"I8",      "I16",     "U16",     "U32",     "U64",     "C64",
                                                 "F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4"};

std::string_view tag_of(DType t) {
    switch (t) {
        case DType::Float32: return "F32";
        case DType::Float64: return "F64";
        case DType::Int64: return "I64";
        case DType::UInt8: return "U8";
        case DType::Bool: return "BOOL";
    }
    throw TypeError("save_safetensors: unknown dtype");
}

struct Entry {
    std::string name;
    const FileDType* dtype;
    Shape shape;
    uint64_t begin, end;
};

struct FileCloser {
    void operator()(FILE* f) const { std::fclose(f); }
};

class Reader {
public:
    explicit Reader(const std::string& path) : path_(path) {}

    template <class... Args>
    Error fail(const Args&... args) const {
        return Error(detail::concat("load_safetensors: ", path_, ": ", args...));
    }

    // The tensors (none when !read_tensors: the header alone, checked, for its metadata) and the metadata.
    TensorMap load(Metadata* metadata, bool read_tensors = true) {
        file_.reset(std::fopen(path_.c_str(), "rb"));
        if (!file_) throw fail("cannot open: ", std::strerror(errno));
        struct stat st {};
        if (::fstat(::fileno(file_.get()), &st) != 0) throw fail("cannot stat: ", std::strerror(errno));
        if (!S_ISREG(st.st_mode)) throw fail("not a regular file");
        const uint64_t file_size = static_cast<uint64_t>(st.st_size);
        if (file_size < 8) throw fail("file is ", file_size, " bytes, shorter than the 8-byte header length");

        uint64_t n = 0;
        read_exact(&n, 8, 0);
        if (n > kMaxHeaderBytes) throw fail("header length ", n, " exceeds the limit of ", kMaxHeaderBytes, " bytes");
        if (n > file_size - 8)
            throw fail("header length ", n, " runs past the end of the file (", file_size, " bytes)");
        std::string text(n, '\0');
        read_exact(text.data(), n, 8);
        data_begin_ = 8 + n;
        data_size_ = file_size - data_begin_;

        Metadata meta;
        std::vector<Entry> entries = parse_header(text, meta);
        check_tiling(entries);
        if (!read_tensors) {
            meta.erase(kChecksumKey);
            if (metadata) *metadata = std::move(meta);
            return {};
        }

        TensorMap out;
        std::map<std::string, std::string> crcs;  // of the bytes as the file holds them
        for (const Entry& e : entries) out.emplace(e.name, read_tensor(e, crcs[e.name]));  // entries in file order
        if (auto it = meta.find(kChecksumKey); it != meta.end()) {
            verify_checksums(it->second, crcs);
            meta.erase(it);
        }
        if (metadata) *metadata = std::move(meta);
        return out;
    }

private:
    void read_exact(void* dst, uint64_t nbytes, uint64_t at) {
        if (nbytes == 0) return;
        if (std::fread(dst, 1, nbytes, file_.get()) != nbytes) {
            if (std::ferror(file_.get())) throw fail("read error at byte ", at, ": ", std::strerror(errno));
            throw fail("file ended before byte ", at + nbytes, " (truncated while reading?)");
        }
    }

    std::vector<Entry> parse_header(const std::string& text, Metadata& meta) {
        // The callback bounds the nesting and rejects a key repeated within one object (nlohmann keeps the last).
        std::vector<std::set<std::string>> keys;
        auto guard = [&](int depth, json::parse_event_t event, json& parsed) {
            if (depth > kMaxHeaderDepth) throw fail("header nests deeper than ", kMaxHeaderDepth, " levels");
            if (event == json::parse_event_t::object_start) keys.emplace_back();
            if (event == json::parse_event_t::object_end) keys.pop_back();
            if (event == json::parse_event_t::key && !keys.back().insert(parsed.get<std::string>()).second)
                throw fail("header has the key ", parsed.dump(), " twice in one object");
            return true;
        };
        // nlohmann stops at a NUL byte and would accept "{}\0garbage"; raw NULs are never valid JSON text.
        if (const size_t nul = text.find('\0'); nul != std::string::npos)
            throw fail("header is not valid JSON: NUL byte at header offset ", nul);
        json header;
        try {
            header = json::parse(text, guard);
        } catch (const json::exception& e) {
            throw fail("header is not valid JSON: ", e.what());
        }
        if (!header.is_object()) throw fail("header is a JSON ", header.type_name(), ", expected an object");

        std::vector<Entry> entries;
        for (const auto& [name, value] : header.items()) {
            if (name == "__metadata__") {
                if (value.is_null()) continue;  // the reference reads it as an Option
                if (!value.is_object())
                    throw fail("__metadata__ is a JSON ", value.type_name(), ", expected an object of strings");
                for (const auto& [k, v] : value.items()) {
                    if (!v.is_string())
                        throw fail("__metadata__ value of '", k, "' is a JSON ", v.type_name(), ", expected a string");
                    meta.emplace(k, v.get<std::string>());
                }
                continue;
            }
            entries.push_back(parse_entry(name, value));
        }
        return entries;
    }

    Entry parse_entry(const std::string& name, const json& v) const {
        if (!v.is_object())
            throw fail("tensor '", name, "' is a JSON ", v.type_name(),
                       ", expected an object with dtype, shape, data_offsets");
        for (const char* field : {"dtype", "shape", "data_offsets"})
            if (!v.contains(field)) throw fail("tensor '", name, "' has no ", field);
        Entry e{name, nullptr, {}, 0, 0};

        const json& dt = v["dtype"];
        if (!dt.is_string())
            throw fail("tensor '", name, "' has dtype ", dt.dump(), ", expected a string such as \"F32\"");
        const std::string tag = dt.get<std::string>();
        for (const FileDType& f : kFileDTypes)
            if (f.tag == tag) e.dtype = &f;
        if (!e.dtype) {
            if (std::find(std::begin(kUnsupportedTags), std::end(kUnsupportedTags), tag) != std::end(kUnsupportedTags))
                throw fail(
                    "tensor '", name, "' has dtype ", tag,
                    ", which Nabla does not read (it reads F32, F64, I64, U8, BOOL and converts I32, F16, BF16)");
            throw fail("tensor '", name, "' has unknown dtype ", dt.dump());
        }

        const json& shape = v["shape"];
        if (!shape.is_array())
            throw fail("tensor '", name, "' has shape ", shape.dump(), ", expected an array of integers");
        // numel in 128 bits; dims capped so that the strides of the tensor we make stay within int64 as well.
        unsigned __int128 numel = 1, span = 1;
        for (const json& d : shape) {
            if (!d.is_number_integer())
                throw fail("tensor '", name, "' has shape ", shape.dump(), ", whose dim ", d.dump(),
                           " is not an integer");
            if (d.is_number_unsigned() ? d.get<uint64_t>() > (uint64_t{1} << 62) : d.get<int64_t>() < 0)
                throw fail("tensor '", name, "' has shape ", shape.dump(), " with dim ", d.dump(),
                           d.is_number_unsigned() ? " too large" : " negative");
            const uint64_t dim = d.get<uint64_t>();
            numel *= dim;
            span *= std::max<uint64_t>(dim, 1);
            if (span > (uint64_t{1} << 62))
                throw fail("tensor '", name, "' has shape ", shape.dump(), ", too many elements");
            e.shape.push_back(static_cast<int64_t>(dim));
        }

        const json& offs = v["data_offsets"];
        if (!offs.is_array() || offs.size() != 2 || !offs[0].is_number_unsigned() || !offs[1].is_number_unsigned())
            throw fail("tensor '", name, "' has data_offsets ", offs.dump(),
                       ", expected [begin, end] with 0 <= begin <= end");
        e.begin = offs[0].get<uint64_t>();
        e.end = offs[1].get<uint64_t>();
        const std::string range = detail::concat("[", e.begin, ", ", e.end, "]");
        if (e.begin > e.end) throw fail("tensor '", name, "' has data_offsets ", range, " with begin > end");
        if (e.end > data_size_)
            throw fail("tensor '", name, "' has data_offsets ", range, " beyond the data buffer of ", data_size_,
                       " bytes");
        if (numel * e.dtype->size != e.end - e.begin)
            throw fail("tensor '", name, "' has data_offsets ", range, " but shape ", shape_str(e.shape), " of ", tag,
                       " needs ", static_cast<uint64_t>(numel * e.dtype->size), " bytes");
        return e;
    }

    // The reference requires the tensors to tile the data buffer: sorted by offset, each starts where the last ended.
    void check_tiling(std::vector<Entry>& entries) const {
        std::sort(entries.begin(), entries.end(),
                  [](const Entry& a, const Entry& b) { return std::tie(a.begin, a.end) < std::tie(b.begin, b.end); });
        uint64_t at = 0;
        const Entry* prev = nullptr;
        for (const Entry& e : entries) {
            if (e.begin < at)
                throw fail("tensors '", prev->name, "' [", prev->begin, ", ", prev->end, "] and '", e.name, "' [",
                           e.begin, ", ", e.end, "] overlap");
            if (e.begin > at)
                throw fail("data bytes [", at, ", ", e.begin, ") belong to no tensor (gap before '", e.name, "')");
            at = e.end;
            prev = &e;
        }
        if (at != data_size_)
            throw fail("data bytes [", at, ", ", data_size_, ") after the last tensor belong to no tensor");
    }

    // The checksums the file was saved with (kChecksumKey) against those of the bytes read: a mismatch is corruption.
    void verify_checksums(const std::string& text, const std::map<std::string, std::string>& crcs) const {
        const json saved = json::parse(text, nullptr, false);
        if (saved.is_discarded() || !saved.is_object())
            throw fail("metadata ", kChecksumKey, " is not a JSON object of checksums");
        for (const auto& [name, crc] : saved.items()) {
            const auto it = crcs.find(name);
            if (it == crcs.end())
                throw fail("metadata ", kChecksumKey, " has a checksum for '", name, "', which the file lacks");
            if (!crc.is_string() || crc.get<std::string>() != it->second)
                throw fail("tensor '", name, "' is corrupt: the crc32 of its bytes is ", it->second,
                           " but it was saved as ", crc.dump());
        }
    }

    Tensor read_tensor(const Entry& e, std::string& crc) {
        Tensor t = make_tensor(e.shape, e.dtype->dtype, kCPU);
        const uint64_t nbytes = e.end - e.begin, at = data_begin_ + e.begin;
        if (e.dtype->size == element_size(e.dtype->dtype)) {  // F32, F64, I64, U8, BOOL: straight into the storage
            read_exact(t.raw_data(), nbytes, at);
            crc = crc32_hex(t.raw_data(), nbytes);
            if (e.dtype->dtype == kBool) {  // any byte other than 0 or 1 is not a valid C++ bool: read it as numpy does
                auto* p = static_cast<uint8_t*>(t.raw_data());
                for (uint64_t i = 0; i < nbytes; ++i) p[i] = p[i] != 0;
            }
            return t;
        }
        std::vector<unsigned char> buf(nbytes);
        read_exact(buf.data(), nbytes, at);
        crc = crc32_hex(buf.data(), nbytes);
        const int64_t n = t.numel();
        if (e.dtype->tag == "I32") {
            int64_t* dst = t.data_ptr<int64_t>();
            for (int64_t i = 0; i < n; ++i) {
                int32_t v;
                std::memcpy(&v, buf.data() + 4 * i, 4);
                dst[i] = v;
            }
        } else {  // F16, BF16
            float* dst = t.data_ptr<float>();
            const bool bf16 = e.dtype->tag == "BF16";
            for (int64_t i = 0; i < n; ++i) {
                uint16_t h;
                std::memcpy(&h, buf.data() + 2 * i, 2);
                dst[i] = bf16 ? std::bit_cast<float>(static_cast<uint32_t>(h) << 16) : half_to_float(h);
            }
        }
        return t;
    }

    std::string path_;
    std::unique_ptr<FILE, FileCloser> file_;
    uint64_t data_begin_ = 0, data_size_ = 0;
};

// Removes the temporary files that earlier saves of `path` left behind when their process was killed mid-save
// (<path>.tmp.<pid>.<n> whose pid no longer runs). A live process's file is its save in progress: left alone.
void remove_stale_temporaries(const std::string& path) {
    namespace fs = std::filesystem;
    const fs::path target(path);
    const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
    const std::string prefix = target.filename().string() + kTempInfix;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.rfind(prefix, 0) != 0) continue;
        const std::string rest = name.substr(prefix.size());  // "<pid>.<n>"
        const size_t dot = rest.find('.');
        if (dot == 0 || dot == std::string::npos || rest.find_first_not_of("0123456789.") != std::string::npos)
            continue;
        const long pid = std::strtol(rest.substr(0, dot).c_str(), nullptr, 10);
        if (pid <= 0 || pid == static_cast<long>(::getpid())) continue;
        if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // alive, or not ours to judge
        std::error_code ignored;
        fs::remove(it->path(), ignored);
    }
}

// The temporary file of a save: removed by the destructor unless the rename committed it.
class TempFile {
public:
    TempFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    ~TempFile() {
        if (fd_ >= 0) ::close(fd_);
        if (!committed_) ::unlink(path_.c_str());
    }
    int fd() const { return fd_; }
    int close() {
        const int rc = ::close(fd_);
        fd_ = -1;
        return rc;
    }
    void commit() { committed_ = true; }

private:
    std::string path_;
    int fd_;
    bool committed_ = false;
};

bool write_all(int fd, const void* data, uint64_t nbytes) {
    const char* p = static_cast<const char*>(data);
    while (nbytes > 0) {
        const ssize_t w = ::write(fd, p, std::min<uint64_t>(nbytes, uint64_t{1} << 30));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        p += w;
        nbytes -= static_cast<uint64_t>(w);
    }
    return true;
}

}  // namespace

uint16_t float_to_half(float f) {
    const uint32_t x = std::bit_cast<uint32_t>(f);
    const auto sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
    const uint32_t abs = x & 0x7fffffffu;
    if (abs >= 0x7f800000u)  // inf, or NaN: quiet, with the top of its payload
        return abs == 0x7f800000u ? sign | 0x7c00u : static_cast<uint16_t>(sign | 0x7e00u | ((abs >> 13) & 0x3ffu));
    if (abs >= 0x477ff000u) return sign | 0x7c00u;  // >= 65520 = 65504 + half an ulp: rounds up to inf
    // Keeps the bits above `shift` of `bits`, rounding the rest to nearest, ties to the even result.
    auto round_shift = [](uint32_t bits, uint32_t shift) {
        const uint32_t kept = bits >> shift, rest = bits & ((1u << shift) - 1), tie = 1u << (shift - 1);
        return kept + (rest > tie || (rest == tie && (kept & 1u)) ? 1u : 0u);
    };
    if (abs >= 0x38800000u)  // a normal half (>= 2^-14): rebias the exponent by 127 - 15; a carry may raise it
        return static_cast<uint16_t>(sign | round_shift(abs - 0x38000000u, 13));
    const uint32_t exp = abs >> 23;
    if (exp < 102) return sign;  // below 2^-25: zero (2^-25 itself ties to the even zero below)
    // a subnormal half m * 2^-24: the float's significand (implicit bit included) * 2^(exp - 150) / 2^-24
    return static_cast<uint16_t>(sign | round_shift((abs & 0x7fffffu) | 0x800000u, 126 - exp));
}

float half_to_float(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
    if (exp == 0) {  // zero or subnormal: mant * 2^-24
        const float f = std::ldexp(static_cast<float>(mant), -24);
        return sign ? -f : f;
    }
    const uint32_t bits = exp == 0x1f ? sign | 0x7f800000u | (mant << 13)  // inf, nan (payload kept)
                                      : sign | ((exp + 112) << 23) | (mant << 13);
    return std::bit_cast<float>(bits);
}

bool fits_half(const Tensor& t) {
    if (!t.defined() || t.dtype() != kFloat32) return false;
    const Tensor c = t.detach().to(kCPU).contiguous();
    const float* p = c.data_ptr<float>();
    for (int64_t i = 0, n = c.numel(); i < n; ++i)
        if (std::isfinite(p[i]) && std::fabs(p[i]) > 65504.0f) return false;
    return true;
}

TensorMap load_safetensors(const std::string& path, Metadata* metadata) { return Reader(path).load(metadata); }

Metadata load_safetensors_metadata(const std::string& path) {
    Metadata meta;
    Reader(path).load(&meta, /*read_tensors=*/false);
    return meta;
}

void save_safetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata,
                      const SaveOptions& options) {
    auto fail = [&](const auto&... args) { return Error(detail::concat("save_safetensors: ", path, ": ", args...)); };

    // What one tensor writes: its own bytes, or (stored as F16) the converted ones.
    struct Blob {
        Tensor tensor;
        std::vector<uint16_t> half;
        uint64_t nbytes = 0;
        const void* data() const { return tensor.defined() ? tensor.raw_data() : half.data(); }
    };
    // Header first: keys sorted (std::map), offsets in that order, padded with spaces so the data is 8-byte aligned.
    std::vector<Blob> blobs;
    json header = json::object(), crcs = json::object();
    uint64_t offset = 0;
    for (const auto& [name, tensor] : tensors) {
        if (name == "__metadata__") throw fail("the name __metadata__ is reserved and cannot name a tensor");
        if (!tensor.defined()) throw fail("tensor '", name, "' is undefined");
        Tensor t = tensor.detach().to(kCPU).contiguous();
        Blob blob;
        std::string_view tag = tag_of(t.dtype());
        if (options.half && fits_half(t)) {
            const float* p = t.data_ptr<float>();
            blob.half.resize(static_cast<size_t>(t.numel()));
            for (size_t i = 0; i < blob.half.size(); ++i) blob.half[i] = float_to_half(p[i]);
            tag = "F16";
            blob.nbytes = blob.half.size() * sizeof(uint16_t);
        } else {
            blob.nbytes = static_cast<uint64_t>(t.numel()) * element_size(t.dtype());
            blob.tensor = std::move(t);
        }
        header[name] = {
            {"dtype", tag}, {"shape", tensor.shape()}, {"data_offsets", json::array({offset, offset + blob.nbytes})}};
        offset += blob.nbytes;
        crcs[name] = crc32_hex(blob.data(), blob.nbytes);  // of the bytes the file holds
        blobs.push_back(std::move(blob));
    }
    json meta = metadata;  // (a name that is not UTF-8 fails below, with the header)
    meta[kChecksumKey] = crcs.dump(-1, ' ', false, json::error_handler_t::replace);
    header["__metadata__"] = meta;
    std::string text;
    try {
        text = header.dump(-1, ' ', false, json::error_handler_t::strict);
    } catch (const json::exception& e) {
        throw fail("a tensor name or metadata string is not valid UTF-8 (", e.what(), ")");
    }
    text.append((8 - text.size() % 8) % 8, ' ');
    const uint64_t n = text.size();

    // The pid keeps processes apart, the counter threads: two saves of one path never share a temporary file.
    static std::atomic<uint64_t> saves{0};
    remove_stale_temporaries(path);
    const std::string tmp_path = detail::concat(path, kTempInfix, ::getpid(), ".", saves++);
    const int fd = ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) throw fail("cannot create ", tmp_path, ": ", std::strerror(errno));
    TempFile tmp(tmp_path, fd);
    errno = 0;
    bool ok = write_all(fd, &n, 8) && write_all(fd, text.data(), n);
    for (size_t i = 0; ok && i < blobs.size(); ++i) ok = write_all(fd, blobs[i].data(), blobs[i].nbytes);
    if (!ok) throw fail("cannot write ", tmp_path, ": ", errno ? std::strerror(errno) : "short write");
    if (::fsync(fd) != 0) throw fail("cannot fsync ", tmp_path, ": ", std::strerror(errno));
    if (tmp.close() != 0) throw fail("cannot close ", tmp_path, ": ", std::strerror(errno));
    if (std::rename(tmp_path.c_str(), path.c_str()) != 0)
        throw fail("cannot rename ", tmp_path, " over it: ", std::strerror(errno));
    tmp.commit();

    // Make the rename itself durable; a failure here leaves the new file in place, so it is not an error.
    std::string dir = std::filesystem::path(path).parent_path().string();
    const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

}  // namespace nabla
