// apps/detection_yaml.cpp — the data.yaml parsed by yaml-cpp, then checked and resolved as ultralytics'
// check_dataset: the root `path`, train/val/test as a path or a list of paths, nc, and the names as a list or a map
// (see detection_yaml.h; docs/yolo_data.md §1).
#include "apps/detection_yaml.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include "core/error.h"

namespace nabla::apps {
namespace fs = std::filesystem;

namespace {

bool absent(const YAML::Node& n) { return !n.IsDefined() || n.IsNull(); }

void set_flow_style(YAML::Node n) {
    n.SetStyle(YAML::EmitterStyle::Flow);
    if (n.IsSequence())
        for (YAML::Node item : n) set_flow_style(item);
    else if (n.IsMap())
        for (auto kv : n) set_flow_style(kv.second);
}

// A node as the error messages quote it: a scalar's text, anything else on one line in flow style.
std::string text_of(const YAML::Node& n) {
    if (absent(n)) return "";
    if (n.IsScalar()) return n.Scalar();
    YAML::Node copy = YAML::Clone(n);
    set_flow_style(copy);
    YAML::Emitter out;
    out << copy;
    return out.c_str();
}

std::optional<int64_t> int_of(const YAML::Node& n) {
    if (!n.IsScalar()) return std::nullopt;
    const std::string& s = n.Scalar();
    int64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return v;
}

// One top-level entry: the key node (its line is where errors about the whole value point) and the value.
struct Entry {
    YAML::Node key, value;
};

// The errors of one file: "FILE:LINE: what", the line being the node's.
class Reader {
public:
    explicit Reader(const std::string& file) : file_(file) {}

    [[noreturn]] void fail_line(int64_t line, const std::string& what) const {
        throw Error(fmt::format("{}:{}: {}", file_, line, what));
    }
    [[noreturn]] void fail(const YAML::Node& n, const std::string& what) const {
        const YAML::Mark mark = n.Mark();
        if (mark.is_null()) throw Error(fmt::format("{}: {}", file_, what));
        fail_line(mark.line + 1, what);
    }

    // The top-level keys (a later duplicate replaces an earlier one, as in PyYAML); an empty file has none.
    std::map<std::string, Entry> load() const {
        std::ifstream f(file_);
        if (!f) throw Error(fmt::format("read_data_yaml: cannot read {}", file_));
        const YAML::Node root = [&] {
            try {
                return YAML::Load(f);
            } catch (const YAML::Exception& e) {
                if (e.mark.is_null()) throw Error(fmt::format("{}: not valid YAML: {}", file_, e.msg));
                throw Error(
                    fmt::format("{}:{}:{}: not valid YAML: {}", file_, e.mark.line + 1, e.mark.column + 1, e.msg));
            }
        }();
        std::map<std::string, Entry> keys;
        if (absent(root)) return keys;
        if (!root.IsMap())
            fail(root, fmt::format("expected a mapping of keys (path, train, val, test, nc, names), got '{}'",
                                   text_of(root)));
        for (const auto& kv : root) {
            if (!kv.first.IsScalar()) continue;
            // erase, then emplace: assigning to a YAML::Node that holds a node would rewrite that node in the tree
            keys.erase(kv.first.Scalar());
            keys.emplace(kv.first.Scalar(), Entry{kv.first, kv.second});
        }
        return keys;
    }

private:
    const std::string& file_;
};

// The root: an absolute `path`; a relative one from the yaml's folder (or, failing that, from the working directory,
// as ultralytics); without `path`, the yaml's folder.
std::string resolve_root(const Reader& reader, const std::map<std::string, Entry>& keys, const fs::path& folder) {
    fs::path root = folder;
    if (auto it = keys.find("path"); it != keys.end() && !absent(it->second.value)) {
        const YAML::Node& v = it->second.value;
        if (!v.IsScalar()) reader.fail(v, fmt::format("path: expected a folder, got '{}'", text_of(v)));
        const fs::path p(v.Scalar());
        root = p.is_absolute() ? p : (fs::exists(folder / p) || !fs::exists(p) ? folder / p : p);
    }
    root = root.lexically_normal();
    if (root.has_relative_path() && root.filename().empty()) root = root.parent_path();  // "a/." -> "a"
    return root.empty() ? "." : root.string();
}

// train/val/test: a path or a list of paths, each joined to the root unless absolute, and existing.
std::vector<std::string> resolve_sources(const Reader& reader, const char* key, const YAML::Node& node,
                                         const std::string& root) {
    std::vector<std::string> out;
    if (absent(node)) return out;
    std::vector<YAML::Node> entries;
    if (node.IsScalar())
        entries.push_back(node);
    else if (node.IsSequence())
        for (const YAML::Node& item : node) entries.push_back(item);
    else
        reader.fail(node, fmt::format("{}: expected a path or a list of paths, got '{}'", key, text_of(node)));
    for (const YAML::Node& e : entries) {
        if (!e.IsScalar()) reader.fail(e, fmt::format("{}: expected a path, got '{}'", key, text_of(e)));
        const fs::path p(e.Scalar());
        const fs::path resolved = (p.is_absolute() ? p : fs::path(root) / p).lexically_normal();
        if (!fs::exists(resolved))
            reader.fail(e,
                        fmt::format("{}: {} does not exist (resolved against path {})", key, resolved.string(), root));
        out.push_back(resolved.string());
    }
    return out;
}

// names: a list, or a map {0: person, 1: bicycle, ...} numbering the classes 0..n-1 in any order.
std::vector<std::string> read_names(const Reader& reader, const Entry& entry) {
    const YAML::Node& node = entry.value;
    std::vector<std::string> names;
    if (node.IsSequence()) {
        for (const YAML::Node& item : node) {
            if (!item.IsScalar()) reader.fail(item, fmt::format("names: expected a name, got '{}'", text_of(item)));
            names.push_back(item.Scalar());
        }
    } else if (node.IsMap()) {
        std::map<int64_t, std::string> by_index;
        for (const auto& kv : node) {
            const auto index = int_of(kv.first);
            if (!index || *index < 0)
                reader.fail(kv.first, fmt::format("names: key '{}' is not a class index", text_of(kv.first)));
            if (!kv.second.IsScalar())
                reader.fail(kv.first,
                            fmt::format("names: class {} expects a name, got '{}'", *index, text_of(kv.second)));
            if (!by_index.emplace(*index, kv.second.Scalar()).second)
                reader.fail(kv.first, fmt::format("names: class {} is named twice", *index));
        }
        int64_t expected = 0;
        for (auto& [index, name] : by_index) {
            if (index != expected) reader.fail(entry.key, fmt::format("names: class {} has no name", expected));
            names.push_back(std::move(name));
            ++expected;
        }
    } else {
        reader.fail(entry.key, fmt::format("names: expected a list or a map of class names, got '{}'", text_of(node)));
    }
    return names;
}

}  // namespace

DataYaml read_data_yaml(const std::string& file) {
    const Reader reader(file);
    const std::map<std::string, Entry> keys = reader.load();
    DataYaml d;
    d.file = file;
    d.path = resolve_root(reader, keys, fs::path(file).parent_path());
    for (auto [key, out] : {std::pair{"train", &d.train}, std::pair{"val", &d.val}, std::pair{"test", &d.test}})
        if (auto it = keys.find(key); it != keys.end()) *out = resolve_sources(reader, key, it->second.value, d.path);
    std::optional<int64_t> nc;
    if (auto it = keys.find("nc"); it != keys.end()) {
        const YAML::Node& v = it->second.value;
        nc = int_of(v);
        if (!nc || *nc < 1)
            reader.fail(absent(v) ? it->second.key : v,
                        fmt::format("nc must be a positive integer, got '{}'", text_of(v)));
    }
    const auto names = keys.find("names");
    if (names != keys.end() && !absent(names->second.value)) d.names = read_names(reader, names->second);
    if (!nc && d.names.empty()) reader.fail_line(1, "neither nc nor names is given");
    d.nc = nc ? *nc : static_cast<int64_t>(d.names.size());
    if (d.names.empty())
        for (int64_t k = 0; k < d.nc; ++k) d.names.push_back(fmt::format("class{}", k));
    else if (static_cast<int64_t>(d.names.size()) != d.nc)
        reader.fail(names->second.key, fmt::format("{} names found for nc={}", d.names.size(), d.nc));
    return d;
}

DataYaml find_data_yaml(const std::string& dir_or_file) {
    if (fs::is_regular_file(dir_or_file)) return read_data_yaml(dir_or_file);
    if (!fs::is_directory(dir_or_file))
        throw Error(fmt::format("detection data: {} is neither a data.yaml nor a folder", dir_or_file));
    if (fs::is_regular_file(fs::path(dir_or_file) / "data.yaml"))
        return read_data_yaml((fs::path(dir_or_file) / "data.yaml").string());
    std::vector<std::string> yamls;
    for (const auto& e : fs::directory_iterator(dir_or_file))
        if (e.is_regular_file() && (e.path().extension() == ".yaml" || e.path().extension() == ".yml"))
            yamls.push_back(e.path().string());
    if (yamls.size() != 1)
        throw Error(fmt::format("detection data: {} has no data.yaml and {} other .yaml files{}{}", dir_or_file,
                                yamls.size(), yamls.empty() ? "" : ": ", fmt::join(yamls, ", ")));
    return read_data_yaml(yamls[0]);
}

}  // namespace nabla::apps
