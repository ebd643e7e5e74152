// tests/fuzz/test_replay.cpp — every committed fuzz input run through its target (tests/fuzz/targets.h) by the normal
// build, without libFuzzer: the seeds of tests/fuzz/corpus/<target>/ (ok_* must be accepted, bad_* refused with a
// nabla::Error) and the crashes the fuzzers found, kept under tests/fuzz/regressions/<target>/ (refused or accepted,
// but nothing other than a nabla::Error may escape, and no sanitizer report under scripts/test.sh --sanitize).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "fuzz/targets.h"
#include "support/support.h"

namespace fs = std::filesystem;
using nabla::fuzz::Target;

namespace {

std::vector<fs::path> inputs(const std::string& kind, const std::string& target) {
    const fs::path dir = fs::path(NABLA_SOURCE_DIR) / "tests" / "fuzz" / kind / target;
    std::vector<fs::path> files;
    if (fs::is_directory(dir))
        for (const auto& e : fs::directory_iterator(dir))
            if (e.is_regular_file()) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    return files;
}

std::string bytes_of(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

bool run(const Target& t, const std::string& bytes) {
    return t.run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

}  // namespace

TEST_CASE("fuzz seeds: ok_* are accepted, bad_* refused with a nabla::Error, nothing else escapes") {
    for (const Target& t : nabla::fuzz::targets()) {
        const auto files = inputs("corpus", t.name);
        INFO("target " << t.name);
        CHECK(files.size() >= 2);
        for (const fs::path& f : files) {
            INFO(f.string());
            const std::string name = f.filename().string();
            bool accepted = false;
            CHECK_NOTHROW(accepted = run(t, bytes_of(f)));
            if (name.starts_with("ok_")) CHECK(accepted);
            if (name.starts_with("bad_")) CHECK_FALSE(accepted);
        }
    }
}

TEST_CASE("fuzz regressions: the inputs that once crashed a reader are now refused or read") {
    size_t count = 0;
    for (const Target& t : nabla::fuzz::targets())
        for (const fs::path& f : inputs("regressions", t.name)) {
            INFO("target " << t.name << ": " << f.string());
            CHECK_NOTHROW(run(t, bytes_of(f)));
            ++count;
        }
    SUCCEED(count << " regression inputs");
}

TEST_CASE("fuzz targets: every target has a corpus folder and a libFuzzer entry point") {
    for (const Target& t : nabla::fuzz::targets()) {
        INFO(t.name);
        CHECK(fs::is_directory(fs::path(NABLA_SOURCE_DIR) / "tests" / "fuzz" / "corpus" / t.name));
        CHECK(fs::is_regular_file(fs::path(NABLA_SOURCE_DIR) / "tests" / "fuzz" / ("fuzz_" + t.name + ".cpp")));
    }
}
