// tests/layers/test_includes.cpp — the layers of the library, checked on every #include of every source file.
//
// A file belongs to the layer with the longest matching path prefix, and may include files of the layers listed
// for it: lower ones and its own. The build links the layers' targets (CMakeLists.txt) in the same order, and the
// layers/link_* tests link each layer's library whole against only the layers below it, so that a definition
// calling upwards fails there too. docs/layers.md draws the picture.
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/support.h"

namespace fs = std::filesystem;

namespace {

struct Layer {
    std::string name;
    std::vector<std::string> paths;     // prefixes of the paths (relative to the source root) of its files
    std::set<std::string> may_include;  // layers whose headers it may include (its own among them)
};

const std::vector<Layer>& layers() {
    static const std::vector<Layer> table = {
        {"core", {"core/"}, {"core"}},
        {"trace", {"core/trace/"}, {"core", "trace"}},
        {"tape", {"autograd/node.h", "autograd/grad_mode.h", "autograd/tape.cpp"}, {"core", "trace", "tape"}},
        {"kernel math", {"backends/common/"}, {"core", "kernel math"}},
        {"backend interface", {"backends/backend.h"}, {"core", "kernel math", "backend interface"}},
        {"backends", {"backends/"}, {"core", "trace", "kernel math", "backend interface", "backends"}},
        {"ops", {"ops/", "autograd/"}, {"core", "trace", "tape", "kernel math", "backend interface", "ops"}},
        {"nn", {"nn/"}, {"core", "trace", "tape", "ops", "nn"}},
        {"models", {"models/"}, {"core", "trace", "tape", "ops", "nn", "models"}},
        {"apps", {"apps/"}, {"core", "trace", "tape", "backend interface", "ops", "nn", "models", "apps"}},
    };
    return table;
}

// The layer of a path relative to the source root; nullptr for files outside the library (tests, bench, ...).
const Layer* layer_of(const std::string& path) {
    const Layer* best = nullptr;
    size_t best_length = 0;
    for (const Layer& layer : layers())
        for (const std::string& prefix : layer.paths)
            if (path.starts_with(prefix) && prefix.size() > best_length) best = &layer, best_length = prefix.size();
    return best;
}

// One line per #include "..." of `text` (a file at `path`) that its layer may not include.
std::vector<std::string> violations(const std::string& path, const std::string& text) {
    std::vector<std::string> found;
    const Layer* from = layer_of(path);
    if (!from) return found;
    static const std::regex include_line(R"(^\s*#\s*include\s*"([^"]+)\")");
    std::istringstream lines(text);
    std::string line;
    for (int number = 1; std::getline(lines, line); ++number) {
        std::smatch m;
        if (!std::regex_search(line, m, include_line)) continue;
        const Layer* to = layer_of(m[1].str());
        if (!to || from->may_include.count(to->name)) continue;
        found.push_back(path + ":" + std::to_string(number) + ": " + line + "  (" + from->name + " may not include " +
                        to->name + ")");
    }
    return found;
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("layers: the checker finds an upward include and names the line", "[layers]") {
    REQUIRE(layer_of("core/tensor.h")->name == "core");
    REQUIRE(layer_of("core/trace/trace.h")->name == "trace");
    REQUIRE(layer_of("autograd/node.h")->name == "tape");
    REQUIRE(layer_of("autograd/engine.cpp")->name == "ops");
    REQUIRE(layer_of("backends/backend.h")->name == "backend interface");
    REQUIRE(layer_of("backends/cpu/conv.cpp")->name == "backends");
    REQUIRE(layer_of("tests/ops/test_conv.cpp") == nullptr);

    const auto v = violations("core/tensor.cpp", "#include \"core/tensor.h\"\n\n#include \"ops/elementwise.h\"\n");
    REQUIRE(v.size() == 1);
    REQUIRE(v[0] == "core/tensor.cpp:3: #include \"ops/elementwise.h\"  (core may not include ops)");
    REQUIRE(violations("ops/conv.cpp", "#include \"backends/cpu/cpu_backend.h\"").size() == 1);  // only the interface
    REQUIRE(violations("ops/conv.cpp", "#include \"backends/backend.h\"\n#include <vector>\n").empty());
    REQUIRE(violations("nn/optim/sgd.cpp", "#include \"backends/backend.h\"").size() == 1);  // through ops/optim.h
}

TEST_CASE("layers: every #include of the library points down or sideways", "[layers]") {
    const fs::path root = NABLA_SOURCE_DIR;
    std::vector<std::string> found;
    int64_t files = 0;
    for (const char* dir : {"core", "autograd", "backends", "ops", "nn", "models", "apps"}) {
        for (const auto& entry : fs::recursive_directory_iterator(root / dir)) {
            const std::string ext = entry.path().extension().string();
            if (!entry.is_regular_file() || (ext != ".h" && ext != ".cpp" && ext != ".cu")) continue;
            const std::string path = fs::relative(entry.path(), root).generic_string();
            for (std::string& v : violations(path, read_file(entry.path()))) found.push_back(std::move(v));
            ++files;
        }
    }
    std::string report;
    for (const std::string& v : found) report += v + "\n";
    INFO(report);
    REQUIRE(files > 150);
    REQUIRE(found.empty());
}
