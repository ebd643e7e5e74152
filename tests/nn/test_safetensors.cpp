// tests/nn/test_safetensors.cpp — nn/safetensors.cpp: round trips, files written by PyTorch
// (tests/fixtures/make_io.py), one test per fault of a malformed file, a seeded mini fuzz, and the atomic save.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "support/support.h"

namespace fs = std::filesystem;

namespace {

std::string read_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string u64_le(uint64_t n) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    return s;
}

// A file made of a header (padded with spaces to a multiple of 8 unless pad=false) and a data buffer.
std::string file_bytes(std::string header, const std::string& data, bool pad = true) {
    if (pad) header.append((8 - header.size() % 8) % 8, ' ');
    return u64_le(header.size()) + header + data;
}

// Same dtype, shape and bytes (NaN-exact, and int64 beyond 2^53, which ClosesTo's float64 comparison is not).
bool identical(const Tensor& a, const Tensor& b) {
    if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
    Tensor ca = a.contiguous(), cb = b.contiguous();
    return std::memcmp(ca.raw_data(), cb.raw_data(), ca.numel() * element_size(ca.dtype())) == 0;
}

// Laid out row-major from offset 0. (Tensor::is_contiguous says false for some empty tensors, e.g. [2, 0, 4].)
bool dense(const Tensor& t) {
    return t.offset() == 0 && t.strides() == contiguous_strides(t.shape()) && (t.numel() == 0 || t.is_contiguous());
}

// The message of the nabla::Error that loading `path` throws, or a description of what happened instead.
std::string load_error(const std::string& path) {
    return error_of([&] { load_safetensors(path); });
}

Tensor bools(const std::vector<uint8_t>& v, const Shape& shape = {}) { return from_vector(v, shape, {.dtype = kBool}); }

}  // namespace

TEST_CASE("safetensors: round trip of every dtype, 0-dim, empty, non-contiguous tensors and metadata", "[nn][io]") {
    TempDir dir;
    const std::string path = dir.file("round.safetensors");
    Tensor f32 = randn({3, 5});
    f32.data_ptr<float>()[0] = std::numeric_limits<float>::quiet_NaN();
    f32.data_ptr<float>()[1] = -std::numeric_limits<float>::infinity();
    TensorMap in = {
        {"f32", f32},
        {"f64", randn({2, 3, 4}, {.dtype = kFloat64})},
        {"i64", from_vector<int64_t>({std::numeric_limits<int64_t>::min(), -1, 0, 1, (int64_t{1} << 62) + 1,
                                      std::numeric_limits<int64_t>::max()})},
        {"u8", from_vector<uint8_t>({0, 1, 2, 127, 128, 254, 255, 9}, {2, 4})},
        {"mask", bools({1, 0, 0, 1, 1}, {5})},
        {"scalar", scalar_tensor(-2.25, {.dtype = kFloat64})},
        {"empty", zeros({0, 3})},
        {"empty_mid", zeros({2, 0, 4}, {.dtype = kInt64})},
        {"transposed", noncontiguous(randn({4, 6}))},
        {"strided", arange(0.0, 20.0, 1.0, {.dtype = kFloat64}).slice(0, 1, 20, 3)},
        {"permuted", randn({2, 3, 4}).permute({2, 0, 1})},
        {"stage1.conv.weight", randn({2, 1, 3, 3})},
    };
    REQUIRE_FALSE(in.at("transposed").is_contiguous());
    REQUIRE_FALSE(in.at("strided").is_contiguous());
    const Metadata meta = {{"format", "pt"}, {"epoch", "12"}, {"note", "ünïcode, \"quotes\" and \\ backslash"}};
    save_safetensors(path, in, meta);

    Metadata got_meta = {{"stale", "value"}};
    TensorMap out = load_safetensors(path, &got_meta);
    REQUIRE(got_meta == meta);
    REQUIRE(out.size() == in.size());
    for (const auto& [name, t] : in) {
        INFO(name);
        REQUIRE(out.count(name) == 1);
        REQUIRE(dense(out.at(name)));
        REQUIRE(out.at(name).device() == kCPU);
        REQUIRE(identical(out.at(name), t));
    }
    REQUIRE(out.at("scalar").dim() == 0);
    REQUIRE(out.at("scalar").item<double>() == -2.25);
    REQUIRE(out.at("empty_mid").shape() == Shape{2, 0, 4});

    // The layout the format asks for: header padded with spaces to a multiple of 8, keys sorted, data tiled in order.
    const std::string bytes = read_bytes(path);
    uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);
    REQUIRE(n % 8 == 0);
    const std::string header = bytes.substr(8, n);
    REQUIRE(header.find("\"f32\"") < header.find("\"f64\""));
    REQUIRE(header.find("\"stage1.conv.weight\"") < header.find("\"transposed\""));
    REQUIRE(header.find_last_not_of(' ') == header.rfind('}'));

    // No metadata in the file: the caller's map comes back empty.
    save_safetensors(path, {{"x", ones({2})}});
    load_safetensors(path, &got_meta);
    REQUIRE(got_meta.empty());
    save_safetensors(path, {});  // an empty map is a valid file too
    REQUIRE(load_safetensors(path).empty());
}

TEST_CASE("safetensors: files written by PyTorch load with their values and metadata", "[nn][io]") {
    Metadata meta;
    TensorMap g = load_safetensors(fixture_path("io/torch_native"), &meta);
    REQUIRE(meta == Metadata{{"format", "pt"}, {"made_by", "make_io.py"}});
    REQUIRE(g.size() == 9);
    Tensor x = arange(0.0, 12.0, 1.0, {.dtype = kFloat32}).view({3, 4}) / 4 - 1;
    REQUIRE(g.at("f32").dtype() == kFloat32);
    REQUIRE(identical(g.at("f32"), x));
    REQUIRE(identical(g.at("x_t"), x.t().contiguous()));
    REQUIRE(identical(g.at("f64"), from_vector<double>({-1, -0.5, 0, 0.5, 1})));
    REQUIRE(identical(g.at("i64"), from_vector<int64_t>({-(int64_t{1} << 40), -1, 0, 1, int64_t{1} << 62})));
    REQUIRE(identical(g.at("u8"), from_vector<uint8_t>({0, 1, 127, 255}, {2, 2})));
    REQUIRE(identical(g.at("mask"), bools({1, 0, 1}, {3})));
    REQUIRE(identical(g.at("scalar"), scalar_tensor(3.5, {.dtype = kFloat64})));
    REQUIRE(g.at("empty").shape() == Shape{0, 3});
    REQUIRE(identical(g.at("nested.module.weight"), full({2, 1, 1, 2}, 0.5)));

    // I32 -> int64, F16 and BF16 -> float32; each next to the values PyTorch converted it to.
    TensorMap c = load_safetensors(fixture_path("io/torch_converted"), &meta);
    REQUIRE(meta == Metadata{{"made_by", "make_io.py"}});
    REQUIRE(identical(c.at("i32"), c.at("i32_as_i64")));
    REQUIRE(identical(c.at("f16"), c.at("f16_as_f32")));  // zero, -0, subnormals, 65504, inf, nan bit for bit
    REQUIRE(identical(c.at("bf16"), c.at("bf16_as_f32")));
    REQUIRE(c.at("i32").data_ptr<int64_t>()[0] == -(int64_t{1} << 31));
    REQUIRE(c.at("f16").data_ptr<float>()[4] == 65504.0f);
    REQUIRE(c.at("bf16").data_ptr<float>()[2] == -3.140625f);

    // What we write, PyTorch's layout reads back the same (and the suite's fixtures go through this very path).
    TempDir dir;
    save_safetensors(dir.file("again.safetensors"), g, meta);
    TensorMap again = load_safetensors(dir.file("again.safetensors"));
    for (const auto& [name, t] : g) REQUIRE(identical(again.at(name), t));
}

TEST_CASE("safetensors: every fault of a malformed file is an Error naming the file and the fault", "[nn][io]") {
    TempDir dir;
    const std::string path = dir.file("bad.safetensors");
    const std::string ok_entry = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
    const std::string data8(8, '\0');
    auto expect = [&](const std::string& bytes, const std::string& fault) {
        write_bytes(path, bytes);
        const std::string msg = load_error(path);
        INFO("expected fault: " << fault << "\nmessage: " << msg);
        REQUIRE(msg.rfind("load_safetensors: " + path + ": ", 0) == 0);
        REQUIRE(msg.find(fault) != std::string::npos);
    };
    auto header = [&](const std::string& json, const std::string& data, const std::string& fault) {
        expect(file_bytes(json, data), fault);
    };

    SECTION("the file itself") {
        REQUIRE(load_error(dir.file("missing.safetensors")).find("cannot open: No such file or directory") !=
                std::string::npos);
        REQUIRE(load_error(dir.path.string()).find("not a regular file") != std::string::npos);
        expect("", "file is 0 bytes, shorter than the 8-byte header length");
        expect(std::string("\x10\0\0\0\0", 5), "file is 5 bytes, shorter than the 8-byte header length");
        expect(u64_le(9) + "{}", "header length 9 runs past the end of the file (10 bytes)");
        expect(u64_le(~uint64_t{0}) + "{}", "header length 18446744073709551615 exceeds the limit of 100000000 bytes");
        expect(u64_le(100'000'001) + "{}", "exceeds the limit");
    }
    SECTION("the header's JSON") {
        header("{\"a\":", "", "header is not valid JSON");
        header("not json", "", "header is not valid JSON");
        expect(u64_le(0), "header is not valid JSON");
        expect(u64_le(8) + std::string("{}\0\0\0\0\0\0", 8), "header is not valid JSON: NUL byte at header offset 2");
        header("{\"k\":\"\xff\"}", "", "header is not valid JSON");  // not UTF-8
        header("[1,2]", "", "header is a JSON array, expected an object");
        header("\"str\"", "", "header is a JSON string, expected an object");
        header("{" + ok_entry + "," + ok_entry + "}", data8, "header has the key \"a\" twice in one object");
        header(R"({"a":{"dtype":"F32","dtype":"F64","shape":[1],"data_offsets":[0,4]}})", std::string(4, '\0'),
               "the key \"dtype\" twice");
        header("{\"a\":{\"x\":" + std::string(100, '[') + std::string(100, ']') + "}}", "",
               "header nests deeper than 64 levels");
    }
    SECTION("an entry missing a field or with the wrong JSON types") {
        header(R"({"a":5})", "", "tensor 'a' is a JSON number, expected an object with dtype, shape, data_offsets");
        header(R"({"a":{"shape":[2],"data_offsets":[0,8]}})", data8, "tensor 'a' has no dtype");
        header(R"({"a":{"dtype":"F32","data_offsets":[0,8]}})", data8, "tensor 'a' has no shape");
        header(R"({"a":{"dtype":"F32","shape":[2]}})", data8, "tensor 'a' has no data_offsets");
        header(R"({"a":{"dtype":32,"shape":[2],"data_offsets":[0,8]}})", data8,
               "tensor 'a' has dtype 32, expected a string");
        header(R"({"a":{"dtype":"F32","shape":"2","data_offsets":[0,8]}})", data8,
               "tensor 'a' has shape \"2\", expected an array");
        header(R"({"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", data8, "dim 2.0 is not an integer");
        header(R"({"a":{"dtype":"F32","shape":[null],"data_offsets":[0,8]}})", data8, "dim null is not an integer");
        header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":"0-8"}})", data8,
               "tensor 'a' has data_offsets \"0-8\"");
    }
    SECTION("dims and dtypes") {
        header(R"({"a":{"dtype":"F32","shape":[2,-3],"data_offsets":[0,8]}})", data8,
               "shape [2,-3] with dim -3 negative");
        header(R"({"a":{"dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,8]}})", data8, "too large");
        header(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", data8,
               "too many elements");
        header(R"({"a":{"dtype":"F31","shape":[2],"data_offsets":[0,8]}})", data8,
               "tensor 'a' has unknown dtype \"F31\"");
        header(R"({"a":{"dtype":"I8","shape":[8],"data_offsets":[0,8]}})", data8,
               "tensor 'a' has dtype I8, which Nabla does not read");
    }
    SECTION("data_offsets") {
        for (const char* offs : {"[8]", "[0,4,8]", "[-1,7]", "[0.0,8.0]", "[0,\"8\"]", "[]"})
            header(std::string(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":)") + offs + "}}", data8,
                   std::string("tensor 'a' has data_offsets ") + offs + ", expected [begin, end]");
        header(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", data8,
               "tensor 'a' has data_offsets [8, 0] with begin > end");
        header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", data8,
               "tensor 'a' has data_offsets [4, 12] beyond the data buffer of 8 bytes");
        header(R"({"stage1.conv.weight":{"dtype":"F32","shape":[3,3],"data_offsets":[0,100]}})", std::string(100, '\0'),
               "tensor 'stage1.conv.weight' has data_offsets [0, 100] but shape [3, 3] of F32 needs 36 bytes");
        header(R"({"a":{"dtype":"F32","shape":[],"data_offsets":[0,8]}})", data8, "shape [] of F32 needs 4 bytes");
    }
    SECTION("the tensors must tile the data buffer") {
        header(
            R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
            std::string(12, '\0'), "tensors 'a' [0, 8] and 'b' [4, 12] overlap");
        header(
            R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[0],"data_offsets":[3,3]}})",
            data8, "tensors 'a' [0, 8] and 'b' [3, 3] overlap");
        header(
            R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[8,12]}})",
            std::string(12, '\0'), "data bytes [4, 8) belong to no tensor (gap before 'b')");
        header(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}})", data8,
               "data bytes [0, 4) belong to no tensor");
        header("{" + ok_entry + "}", data8 + "xyz", "data bytes [8, 11) after the last tensor belong to no tensor");
        header("{}", "x", "data bytes [0, 1) after the last tensor");
    }
    SECTION("metadata") {
        header(R"({"__metadata__":{"k":1}})", "", "__metadata__ value of 'k' is a JSON number, expected a string");
        header(R"({"__metadata__":{"k":"v","l":["x"]}})", "", "__metadata__ value of 'l' is a JSON array");
        header(R"({"__metadata__":"k=v"})", "", "__metadata__ is a JSON string, expected an object of strings");
    }
    SECTION("what is valid stays valid") {  // the limits above are not too strict
        write_bytes(path,
                    file_bytes(R"({"__metadata__":null,"b":{"dtype":"BOOL","shape":[3],"data_offsets":[8,11]},)" +
                                   ok_entry + ",\"z\":{\"dtype\":\"I64\",\"shape\":[0,7],\"data_offsets\":[0,0]}}",
                               std::string(8, '\0') + std::string("\x01\x00\x02", 3), /*pad=*/false));
        TensorMap t = load_safetensors(path);
        REQUIRE(t.size() == 3);
        REQUIRE(identical(t.at("b"), bools({1, 0, 1}, {3})));  // a byte 2 in a BOOL tensor reads as true
        REQUIRE(t.at("z").shape() == Shape{0, 7});
    }
}

TEST_CASE("safetensors: 300 corrupted variants of a valid file load or throw nabla::Error, nothing else", "[nn][io]") {
    TempDir dir;
    const std::string path = dir.file("fuzz.safetensors");
    const std::string good = read_bytes(fixture_path("io/torch_native"));
    REQUIRE(good.size() > 600);
    uint64_t n = 0;
    std::memcpy(&n, good.data(), 8);
    std::mt19937_64 rng(20240601);
    int loaded = 0, rejected = 0;
    for (int variant = 0; variant < 300; ++variant) {
        std::string bytes = good;
        const int kind = variant % 3;  // flip bytes in the header / anywhere / truncate and flip
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int i = 0; i < flips; ++i) {
            const uint64_t at = kind == 0 ? rng() % (8 + n) : rng() % bytes.size();
            bytes[at] = static_cast<char>(rng() % 2 ? bytes[at] ^ (1 << (rng() % 8)) : static_cast<char>(rng() % 256));
        }
        if (kind == 2) bytes.resize(rng() % bytes.size());
        write_bytes(path, bytes);
        try {
            TensorMap t = load_safetensors(path);
            for (const auto& [name, tensor] : t) REQUIRE(dense(tensor));
            ++loaded;
        } catch (const Error&) {
            ++rejected;
        } catch (const std::exception& e) {
            FAIL("variant " << variant << " threw a non-nabla exception: " << e.what());
        }
    }
    INFO(loaded << " loaded, " << rejected << " rejected");
    REQUIRE(loaded + rejected == 300);
    REQUIRE(loaded > 0);    // flips in the data buffer are undetectable, and must load
    REQUIRE(rejected > 0);  // header damage and truncation must be caught
}

TEST_CASE("safetensors: save is atomic: it replaces the whole file or leaves everything as it was", "[nn][io]") {
    TempDir dir;
    auto leftovers = [&] {
        int count = 0;
        for (const auto& e : fs::directory_iterator(dir.path))
            count += e.path().filename().string().find(".tmp.") != std::string::npos;
        return count;
    };

    SECTION("a target in a missing directory throws and creates nothing") {
        const std::string path = dir.file("no/such/dir/model.safetensors");
        try {
            save_safetensors(path, {{"x", ones({2})}});
            FAIL("no error");
        } catch (const Error& e) {
            REQUIRE(std::string(e.what()).find("save_safetensors: " + path) != std::string::npos);
            REQUIRE(std::string(e.what()).find("No such file or directory") != std::string::npos);
        }
        REQUIRE_FALSE(fs::exists(dir.path / "no"));
        REQUIRE(fs::is_empty(dir.path));
    }
    SECTION("saving over a larger file replaces it fully") {
        const std::string path = dir.file("model.safetensors");
        save_safetensors(path, {{"big", zeros({1000})}, {"other", ones({10})}}, {{"v", "1"}});
        const auto big_size = fs::file_size(path);
        Tensor small = from_vector<float>({1, 2, 3});
        save_safetensors(path, {{"small", small}});
        REQUIRE(fs::file_size(path) < big_size);
        Metadata meta = {{"v", "stale"}};
        TensorMap t = load_safetensors(path, &meta);
        REQUIRE(t.size() == 1);
        REQUIRE(identical(t.at("small"), small));
        REQUIRE(meta.empty());
        REQUIRE(leftovers() == 0);
    }
    SECTION("a save failing mid-write (file size limit) keeps the old file and removes its temporary file") {
        const std::string path = dir.file("model.safetensors");
        save_safetensors(path, {{"old", from_vector<float>({7, 8})}});
        const std::string before = read_bytes(path);
        std::string message = "no error";
        rlimit saved{};
        REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
        auto old_handler = std::signal(SIGXFSZ, SIG_IGN);  // else the kernel kills us instead of failing write()
        rlimit small = saved;
        small.rlim_cur = 4096;
        REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
        try {
            save_safetensors(path, {{"new", zeros({100000})}});
        } catch (const Error& e) {
            message = e.what();
        }
        ::setrlimit(RLIMIT_FSIZE, &saved);
        std::signal(SIGXFSZ, old_handler);
        INFO(message);
        REQUIRE(message.find("save_safetensors: " + path + ": cannot write " + path + ".tmp.") == 0);
        REQUIRE(message.find(std::strerror(EFBIG)) != std::string::npos);
        REQUIRE(read_bytes(path) == before);
        REQUIRE(leftovers() == 0);
    }
    SECTION("a read-only directory keeps the old file") {
        const std::string path = dir.file("model.safetensors");
        save_safetensors(path, {{"old", from_vector<float>({7, 8})}});
        const std::string before = read_bytes(path);
        fs::permissions(dir.path, fs::perms::owner_read | fs::perms::owner_exec);
        if (::geteuid() == 0) {
            WARN("running as root, which writes into read-only directories: the read-only case is skipped");
        } else {
            REQUIRE_THROWS_WITH(save_safetensors(path, {{"new", ones({3})}}), Catch::Contains("Permission denied"));
        }
        fs::permissions(dir.path, fs::perms::owner_all);
        REQUIRE(read_bytes(path) == before);
        REQUIRE(leftovers() == 0);
    }
    SECTION("a target that is a directory throws and leaves no temporary file") {
        fs::create_directory(dir.path / "model.safetensors");
        fs::create_directory(dir.path / "model.safetensors" / "inside");
        REQUIRE_THROWS_WITH(save_safetensors(dir.file("model.safetensors"), {{"x", ones({1})}}),
                            Catch::Contains("cannot rename") && Catch::Contains("over it: Is a directory"));
        REQUIRE(fs::is_directory(dir.path / "model.safetensors" / "inside"));
        REQUIRE(leftovers() == 0);
    }
    SECTION("threads saving one path never mix their files") {
        const std::string path = dir.file("model.safetensors");
        std::vector<std::thread> threads;
        for (int k = 0; k < 4; ++k)
            threads.emplace_back([&, k] {
                for (int i = 0; i < 10; ++i)
                    save_safetensors(path, {{"v", full({1000 + 10 * k}, k)}}, {{"k", std::to_string(k)}});
            });
        for (auto& t : threads) t.join();
        Metadata meta;
        Tensor v = load_safetensors(path, &meta).at("v");
        const int k = std::stoi(meta.at("k"));
        REQUIRE(identical(v, full({1000 + 10 * k}, k)));  // one whole version, whichever rename came last
        REQUIRE(leftovers() == 0);
    }
    SECTION("the next save removes what a killed save left; a running process's save in progress stays") {
        const std::string path = dir.file("model.safetensors");
        const pid_t child = ::fork();  // a process that has ended: its pid runs no more
        if (child == 0) ::_exit(0);
        REQUIRE(child > 0);
        REQUIRE(::waitpid(child, nullptr, 0) == child);
        const std::string killed = path + ".tmp." + std::to_string(child) + ".3";
        const std::string running = path + ".tmp." + std::to_string(::getppid()) + ".0";
        const std::string other = dir.file("other.safetensors.tmp." + std::to_string(child) + ".0");
        for (const std::string& f : {killed, running, other}) std::ofstream(f) << "partial";
        save_safetensors(path, {{"x", ones({2})}});
        REQUIRE_FALSE(fs::exists(killed));
        REQUIRE(fs::exists(running));
        REQUIRE(fs::exists(other));  // another file's temporaries are that file's saves' business
        REQUIRE(identical(load_safetensors(path).at("x"), ones({2})));
    }
    SECTION("bad arguments throw before touching the disk") {
        const std::string path = dir.file("model.safetensors");
        REQUIRE_THROWS_WITH(save_safetensors(path, {{"x", Tensor()}}), Catch::Contains("tensor 'x' is undefined"));
        REQUIRE_THROWS_WITH(save_safetensors(path, {{"__metadata__", ones({1})}}), Catch::Contains("reserved"));
        REQUIRE_THROWS_WITH(save_safetensors(path, {{"bad\xff", ones({1})}}), Catch::Contains("not valid UTF-8"));
        REQUIRE(fs::is_empty(dir.path));
    }
}

TEST_CASE("safetensors: Nabla's files carry a crc32 per tensor; a flipped byte is an Error naming the tensor",
          "[nn][io]") {
    TempDir dir;
    const std::string path = dir.file("model.safetensors");
    const Tensor a = arange(0, 256, 1, {.dtype = kFloat32}), b = from_vector<int64_t>({7, -8, 9});
    save_safetensors(path, {{"a", a}, {"b", b}}, {{"epoch", "3"}});
    Metadata meta;
    const TensorMap back = load_safetensors(path, &meta);
    REQUIRE(identical(back.at("a"), a));
    REQUIRE(meta == Metadata{{"epoch", "3"}});  // the checksums are checked, not handed back
    // zlib's crc32 of the bytes, in the header as written (b's 24 bytes: 7, -8, 9 as little-endian int64)
    const std::string bytes = read_bytes(path);
    REQUIRE(bytes.find(std::string(kChecksumKey)) != std::string::npos);
    REQUIRE(bytes.find("\\\"b\\\":\\\"e7019333\\\"") != std::string::npos);

    SECTION("one flipped bit in a tensor's data") {
        std::string bad = bytes;
        bad[bad.size() - 24 - 1000] ^= 0x10;  // inside a's 1024 bytes (a comes before b)
        write_bytes(path, bad);
        REQUIRE_THAT(load_error(path), Catch::StartsWith("load_safetensors: " + path +
                                                         ": tensor 'a' is corrupt: the crc32 of its bytes is "));
    }
    SECTION("a checksum that names a tensor the file lacks, or metadata that is not JSON") {
        save_safetensors(path, {{"a", a}}, {});
        std::string text = read_bytes(path);
        const size_t at = text.find("\\\"a\\\":\\\"");
        REQUIRE(at != std::string::npos);
        text[at + 2] = 'z';  // the checksum now names 'z'
        write_bytes(path, text);
        REQUIRE_THAT(load_error(path), Catch::Contains("has a checksum for 'z', which the file lacks"));
        write_bytes(
            path,
            file_bytes(R"({"__metadata__":{"nabla.crc32":"[1"},"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})",
                       "\x01"));
        REQUIRE_THAT(load_error(path), Catch::Contains("is not a JSON object of checksums"));
    }
    SECTION("a file from elsewhere, without checksums, loads as it is") {
        write_bytes(path, file_bytes(R"({"x":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", "\x01\x02"));
        REQUIRE(load_error(path) == "no error");
    }
}

TEST_CASE("safetensors: float_to_half rounds to the nearest half, ties to even, as IEEE 754 says", "[nn][io]") {
    // known values (Python's struct.pack('<e', x), which rounds the same way)
    const std::vector<std::pair<float, uint16_t>> known{
        {1.0f, 0x3c00},
        {-2.5f, 0xc100},
        {65504.0f, 0x7bff},                    // half's largest finite value
        {65519.0f, 0x7bff},                    // below 65504 + half an ulp: rounds down
        {65520.0f, 0x7c00},                    // half an ulp above 65504, a tie: to the even neighbour, inf
        {1e-8f, 0x0000},                       // below 2^-25: zero
        {-1e-8f, 0x8000},                      // of the same sign
        {0x1p-24f, 0x0001},                    // the smallest subnormal
        {0x1p-25f, 0x0000},                    // a tie between 0 and 2^-24: to even, zero
        {0x1.8p-25f, 0x0001},                  // above the tie: up
        {0x1.8p-24f, 0x0002},                  // 1.5 x 2^-24, a tie between 1 and 2 (x 2^-24): to even, 2
        {1e-6f, 0x0011},                       // a subnormal: 16.78 x 2^-24 -> 17
        {0x1p-14f, 0x0400},                    // the smallest normal
        {1.0f + 0x1p-11f, 0x3c00},             // a tie between 1 and 1 + 2^-10: to even, 1
        {1.0f + 3 * 0x1p-11f, 0x3c02},         // a tie between odd 0x3c01 and even 0x3c02: 0x3c02
        {1.0f + 0x1p-11f + 0x1p-20f, 0x3c01},  // just above the tie: up
        {0.1f, 0x2e66},
        {-0.0f, 0x8000},
        {INFINITY, 0x7c00},
        {-INFINITY, 0xfc00},
    };
    for (const auto& [f, h] : known) {
        INFO("x = " << f);
        CHECK(float_to_half(f) == h);
    }
    CHECK(half_to_float(0x0011) == 17 * 0x1p-24f);
    const uint16_t nan = float_to_half(NAN);
    CHECK(((nan & 0x7c00) == 0x7c00 && (nan & 0x3ff) != 0));  // still a NaN
    CHECK(std::isnan(half_to_float(nan)));

    // every half that is not a NaN survives half -> float -> half
    for (uint32_t h = 0; h <= 0xffff; ++h) {
        if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0) continue;
        if (float_to_half(half_to_float(static_cast<uint16_t>(h))) != h) FAIL("half " << h << " does not survive");
    }
    // and any float within range goes to a nearest half: no neighbour of the result is closer
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> exponent(-26, 16), unit(-1, 1);
    for (int i = 0; i < 20000; ++i) {
        const float f = static_cast<float>(std::copysign(std::exp2(exponent(rng)), unit(rng)));
        if (std::fabs(f) >= 65520) continue;
        const uint16_t h = float_to_half(f);
        const double err = std::fabs(static_cast<double>(half_to_float(h)) - f);
        for (const int step : {-1, 1}) {
            const uint16_t n = static_cast<uint16_t>(h + step);
            if ((n & 0x7fff) > 0x7bff || (n & 0x8000) != (h & 0x8000)) continue;  // past the largest or the sign
            if (std::fabs(static_cast<double>(half_to_float(n)) - f) < err) FAIL("x = " << f << " -> " << h);
        }
    }
}

TEST_CASE("safetensors: SaveOptions::half stores float32 as F16, keeps what does not fit as F32, checksums the bytes",
          "[nn][io]") {
    TempDir dir;
    const std::string path = dir.file("half.safetensors");
    const TensorMap tensors{
        {"a", t32({1.0f, -2.5f, 65504.0f, 1e-8f, 1.0f + 0x1p-11f, 1e-6f, INFINITY})},
        {"big", t32({1.0f, 70000.0f})},  // a finite value beyond 65504: stays F32
        {"d", t64({0.1, 1e300})},        // float64 and int64: as they are
        {"h", t32({1.0f, -2.5f})},
        {"i", from_vector<int64_t>({1, -(int64_t{1} << 40)})},
    };
    save_safetensors(path, tensors, {{"note", "x"}}, {.half = true});
    const std::string bytes = read_bytes(path);
    uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);
    const auto header = nlohmann::json::parse(bytes.substr(8, n));
    CHECK(header["a"]["dtype"] == "F16");
    CHECK(header["big"]["dtype"] == "F32");
    CHECK(header["d"]["dtype"] == "F64");
    CHECK(header["h"]["dtype"] == "F16");
    CHECK(header["i"]["dtype"] == "I64");
    CHECK(header["a"]["data_offsets"][1].get<int64_t>() - header["a"]["data_offsets"][0].get<int64_t>() == 14);
    // h's crc32 is zlib's of its F16 bytes 00 3c 00 c1, the bytes written
    REQUIRE(bytes.find("\\\"h\\\":\\\"e05631ce\\\"") != std::string::npos);
    REQUIRE(fits_half(tensors.at("a")));
    REQUIRE_FALSE(fits_half(tensors.at("big")));
    REQUIRE_FALSE(fits_half(tensors.at("d")));

    Metadata meta;
    const TensorMap back = load_safetensors(path, &meta);  // the checksums verified
    CHECK(meta == Metadata{{"note", "x"}});
    REQUIRE(back.at("a").dtype() == kFloat32);
    const float* pa = back.at("a").data_ptr<float>();
    const std::vector<float> a(pa, pa + back.at("a").numel());
    CHECK(a == std::vector<float>{1.0f, -2.5f, 65504.0f, 0.0f, 1.0f, 17 * 0x1p-24f, INFINITY});
    CHECK(identical(back.at("big"), tensors.at("big")));
    CHECK(identical(back.at("d"), tensors.at("d")));
    CHECK(identical(back.at("i"), tensors.at("i")));

    // a flipped byte of the F16 data is caught (a's 14 bytes come first in the data buffer)
    std::string bad = bytes;
    bad[8 + n + 2] ^= 0x01;
    write_bytes(path, bad);
    REQUIRE_THAT(load_error(path), Catch::StartsWith("load_safetensors: " + path + ": tensor 'a' is corrupt"));
    // without the option nothing changes: float32 stays F32
    save_safetensors(path, tensors);
    CHECK(identical(load_safetensors(path).at("a"), tensors.at("a")));
}

TEST_CASE("safetensors: load_safetensors_metadata reads the header's metadata alone, checked as load checks it",
          "[nn][io]") {
    TempDir d;
    const std::string path = d.file("m.safetensors");
    save_safetensors(path, {{"w", ones({2, 3})}}, {{"config", R"({"set": ["blocks=2"]})"}, {"epoch", "3"}});
    Metadata loaded;
    load_safetensors(path, &loaded);
    REQUIRE(load_safetensors_metadata(path) == loaded);  // the checksum entry left out, as load leaves it out
    REQUIRE(load_safetensors_metadata(path).at("epoch") == "3");
    std::ofstream(d.file("bad.safetensors")) << "not a safetensors file";
    REQUIRE_THROWS_WITH(load_safetensors_metadata(d.file("bad.safetensors")), Catch::Contains("bad.safetensors"));
}
