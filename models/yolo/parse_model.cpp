// models/yolo/parse_model.cpp — YOLOv5::build, ultralytics' parse_model (docs/yolo.md §1): the model yaml read
// with yaml-cpp, a row [from, number, module, args] per layer scaled by depth_multiple and width_multiple, the widths
// replaced by YOLOv5Args::channels (§6), and errors that name the file, the line and the layer.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>
#include <string_view>
#include <utility>

#include "models/yolo/yolo.h"
#include "nn/upsampling.h"
#include "ops/ops.h"

namespace nabla::models {
namespace {

std::string strip_suffix(std::string s, std::string_view suffix) {
    if (s.ends_with(suffix)) s.resize(s.size() - suffix.size());
    return s;
}

// Python's eval of a yaml argument, reduced to what model files hold: integers, numbers, True/False, None, names.
std::optional<int64_t> int_of(const YAML::Node& n) {
    if (!n.IsScalar()) return std::nullopt;
    const std::string& s = n.Scalar();
    int64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return v;
}

std::optional<double> number_of(const YAML::Node& n) {
    if (!n.IsScalar() || n.Scalar().empty()) return std::nullopt;
    try {
        size_t end = 0;
        const double v = std::stod(n.Scalar(), &end);
        if (end == n.Scalar().size()) return v;
    } catch (const std::exception&) {
    }
    return std::nullopt;
}

std::optional<bool> bool_of(const YAML::Node& n) {
    if (!n.IsScalar()) return std::nullopt;
    const std::string& s = n.Scalar();
    if (s == "True" || s == "true") return true;
    if (s == "False" || s == "false") return false;
    return std::nullopt;
}

bool is_none(const YAML::Node& n) { return !n.IsDefined() || n.IsNull() || (n.IsScalar() && n.Scalar() == "None"); }

std::string text_of(const YAML::Node& n) {  // a node as the error messages quote it
    if (n.IsScalar()) return n.Scalar();
    YAML::Emitter out;
    out << YAML::Flow << n;
    return out.c_str();
}

// ultralytics' make_divisible(c * width_multiple, 8): ceil to a multiple of 8, in double as Python computes it.
int64_t make_divisible(double x, int64_t divisor) {
    return static_cast<int64_t>(std::ceil(x / static_cast<double>(divisor))) * divisor;
}

// The reader of one model file: every error names the file, and the line and layer when it knows them.
class Parser {
public:
    explicit Parser(const std::string& source) : source_(source) {}

    template <class... Args>
    [[noreturn]] void fail(const Args&... what) const {
        throw ValueError(fmt::format("YOLOv5: {}: {}", source_, ::nabla::detail::concat(what...)));
    }
    template <class... Args>
    [[noreturn]] void fail_at(const YAML::Node& n, const Args&... what) const {
        const YAML::Mark mark = n.Mark();
        if (mark.is_null()) fail(what...);
        fail("line ", mark.line + 1, ": ", what...);
    }

    YAML::Node load(const std::string& text) const {
        try {
            YAML::Node root = YAML::Load(text);
            if (!root.IsMap())
                fail("expects a mapping with nc, depth_multiple, width_multiple, anchors, backbone and head");
            return root;
        } catch (const YAML::Exception& e) {
            if (e.mark.is_null()) fail("not valid YAML: ", e.msg);
            fail("line ", e.mark.line + 1, ": not valid YAML: ", e.msg);
        }
    }

    YAML::Node key(const YAML::Node& root, const char* name) const {
        const YAML::Node n = root[name];
        if (!n.IsDefined() || n.IsNull()) fail("missing key '", name, "'");
        return n;
    }
    int64_t int_key(const YAML::Node& root, const char* name) const {
        const YAML::Node n = key(root, name);
        const auto v = int_of(n);
        if (!v) fail_at(n, "'", name, "' expects an integer, got '", text_of(n), "'");
        return *v;
    }
    double number_key(const YAML::Node& root, const char* name) const {
        const YAML::Node n = key(root, name);
        const auto v = number_of(n);
        if (!v || !(*v > 0)) fail_at(n, "'", name, "' expects a positive number, got '", text_of(n), "'");
        return *v;
    }

private:
    const std::string& source_;
};

// One row being built: its node (for the line), index and module, and its arguments by position.
struct Row {
    const Parser& p;
    YAML::Node node, args;
    int64_t i;
    std::string module;

    template <class... Args>
    [[noreturn]] void fail(const Args&... what) const {
        p.fail_at(node, "layer ", i, " (", module, "): ", what...);
    }
    bool has(size_t k) const { return k < args.size() && !is_none(args[k]); }
    int64_t int_arg(size_t k, const char* name, int64_t fallback) const {
        if (!has(k)) return fallback;
        const auto v = int_of(args[k]);
        if (!v) fail("argument ", k, " (", name, ") expects an integer, got '", text_of(args[k]), "'");
        return *v;
    }
    double number_arg(size_t k, const char* name, double fallback) const {
        if (!has(k)) return fallback;
        const auto v = number_of(args[k]);
        if (!v) fail("argument ", k, " (", name, ") expects a number, got '", text_of(args[k]), "'");
        return *v;
    }
    bool bool_arg(size_t k, const char* name, bool fallback) const {
        if (!has(k)) return fallback;
        const auto v = bool_of(args[k]);
        if (!v) fail("argument ", k, " (", name, ") expects True or False, got '", text_of(args[k]), "'");
        return *v;
    }
    void max_args(size_t n) const {
        if (args.size() > n) fail("takes at most ", n, " arguments, got ", args.size(), ": ", text_of(args));
    }
};

// Detect's anchors: per level (w, h) pairs in pixels; a count instead is ultralytics' placeholder for autoanchor
// (0, 1, ..., 2 na - 1 on every level).
std::vector<std::vector<double>> read_anchors(const Row& row, const YAML::Node& n, size_t levels) {
    std::vector<std::vector<double>> anchors;
    if (const auto count = int_of(n)) {
        if (*count < 1) row.fail("anchors: expects a positive count or a list per level, got ", *count);
        std::vector<double> placeholder;
        for (int64_t k = 0; k < 2 * *count; ++k) placeholder.push_back(static_cast<double>(k));
        return std::vector<std::vector<double>>(levels, placeholder);
    }
    if (!n.IsSequence()) row.fail("anchors: expects a list per level, got '", text_of(n), "'");
    for (const YAML::Node& level : n) {
        std::vector<double> values;
        if (level.IsSequence())
            for (const YAML::Node& v : level) {
                const auto x = number_of(v);
                if (!x || !(*x >= 0)) row.fail("anchors: expects non-negative numbers, got '", text_of(level), "'");
                values.push_back(*x);
            }
        if (values.empty() || values.size() % 2 != 0 ||
            values.size() != (anchors.empty() ? values.size() : anchors[0].size()))
            row.fail("anchors: every level needs the same number of (w, h) pairs, got ", text_of(n));
        anchors.push_back(values);
    }
    if (anchors.size() != levels)
        row.fail(anchors.size(), " levels of anchors for ", levels, " inputs (from ", text_of(row.node[0]), ")");
    return anchors;
}

std::string arg_list(const std::vector<std::string>& parts) { return fmt::format("[{}]", fmt::join(parts, ", ")); }

}  // namespace

void YOLOv5::build(YOLOv5Args a) {
    const Parser p(yaml.source);
    const YAML::Node root = p.load(yaml.text);
    nc = a.nc ? *a.nc : p.int_key(root, "nc");
    if (nc < 1) p.fail("nc must be at least 1, got ", nc);
    depth_multiple = a.depth_multiple ? *a.depth_multiple : p.number_key(root, "depth_multiple");
    width_multiple = a.width_multiple ? *a.width_multiple : p.number_key(root, "width_multiple");
    if (!(depth_multiple > 0) || !(width_multiple > 0))
        p.fail("depth_multiple and width_multiple must be positive, got ", depth_multiple, " and ", width_multiple);
    in_channels = a.in_channels ? *a.in_channels : (root["ch"].IsDefined() ? p.int_key(root, "ch") : 3);
    if (in_channels < 1) p.fail("the input needs at least one channel, got ", in_channels);
    const YAML::Node anchors = p.key(root, "anchors");
    const YAML::Node backbone = p.key(root, "backbone"), head = p.key(root, "head");
    for (const auto& [name, n] : {std::pair{"backbone", backbone}, std::pair{"head", head}})
        if (!n.IsSequence()) p.fail_at(n, "'", name, "' expects a list of [from, number, module, args] rows");
    // na and no as parse_model computes them: a Conv whose width is `no` is an output and is not scaled.
    const int64_t na = int_of(anchors) ? *int_of(anchors)
                       : anchors.IsSequence() && anchors.size() > 0 && anchors[0].IsSequence()
                           ? static_cast<int64_t>(anchors[0].size() / 2)
                           : 0;
    const int64_t no = na * (nc + 5);

    // The explicit widths, by Conv path ("model.2.cv1"; a BatchNorm path names its Conv).
    std::map<std::string, int64_t> want;
    for (const auto& [key, count] : a.channels) {
        const std::string path = strip_suffix(key, ".bn");
        if (want.count(path)) p.fail("channels: two keys name the Conv ", path);
        if (count < 1) p.fail("channels: ", key, " must be at least 1, got ", count);
        want[path] = count;
    }
    std::set<std::string> used;
    auto width = [&](const std::string& path, int64_t nominal) {
        const auto it = want.find(path);
        if (it == want.end()) return nominal;
        used.insert(path);
        return it->second;
    };

    model = register_module("model", std::make_shared<nn::Sequential>());
    const int64_t nb = static_cast<int64_t>(backbone.size()), count = nb + static_cast<int64_t>(head.size());
    std::vector<int64_t> ch, ch_nominal;  // out channels of each layer as built, and as the yaml alone gives them
    for (int64_t i = 0; i < count; ++i) {
        const YAML::Node node = i < nb ? backbone[static_cast<size_t>(i)] : head[static_cast<size_t>(i - nb)];
        if (!node.IsSequence() || node.size() != 4 || !node[2].IsScalar())
            p.fail_at(node, "layer ", i, ": expects [from, number, module, args], got ", text_of(node));
        const Row row{p, node, node[3], i, node[2].Scalar()};
        if (!row.args.IsSequence()) row.fail("args expects a list, got '", text_of(row.args), "'");
        YoloLayer L{.index = i, .module = row.module};
        // from: -1 is the previous layer; other negatives count back from this one, as Python's y[f].
        const YAML::Node from = node[0];
        std::vector<YAML::Node> froms;
        if (from.IsSequence())
            for (const YAML::Node& f : from) froms.push_back(f);
        else
            froms.push_back(from);
        for (const YAML::Node& f : froms) {
            const auto v = int_of(f);
            const int64_t j = v ? (*v < 0 ? i + *v : *v) : -2;
            if (!v || !((j >= 0 && j < i) || (i == 0 && j == -1)))
                row.fail("from: ", text_of(from), " must name earlier layers (or -1 for the input of layer 0)");
            L.from.push_back(*v);
            L.inputs.push_back(j);
        }
        const auto n_written = int_of(node[1]);
        if (!n_written || *n_written < 1) row.fail("number expects a positive integer, got '", text_of(node[1]), "'");
        // depth gain: Python's round() rounds halves to even, as nearbyint does
        L.n = *n_written > 1
                  ? std::max<int64_t>(
                        static_cast<int64_t>(std::nearbyint(static_cast<double>(*n_written) * depth_multiple)), 1)
                  : *n_written;
        if (L.n > 1 && row.module != "C3") row.fail("repeats (number ", *n_written, ") are only supported for C3");
        auto in_ch = [&](size_t k) { return L.inputs[k] < 0 ? in_channels : ch[static_cast<size_t>(L.inputs[k])]; };
        auto in_nominal = [&](size_t k) {
            return L.inputs[k] < 0 ? in_channels : ch_nominal[static_cast<size_t>(L.inputs[k])];
        };
        auto single_input = [&] {
            if (L.inputs.size() != 1) row.fail("takes one input, got from ", text_of(from));
        };
        auto scaled = [&](int64_t c) {
            return c != no ? make_divisible(static_cast<double>(c) * width_multiple, 8) : c;
        };
        auto out_arg = [&] {
            if (!row.has(0)) row.fail("argument 0 (the output channels) is missing");
            const int64_t c = row.int_arg(0, "c2", 0);
            if (c < 1) row.fail("argument 0 (the output channels) must be positive, got ", c);
            return c;
        };
        const std::string base = fmt::format("model.{}", i);
        nn::ModulePtr module;
        int64_t out = 0, out_nominal = 0;
        if (row.module == "Conv") {  // [c2, k=1, s=1, p=None, g=1, act=True]
            single_input();
            row.max_args(6);
            out_nominal = scaled(out_arg());
            out = width(base, out_nominal);
            const int64_t k = row.int_arg(1, "k", 1), s = row.int_arg(2, "s", 1), g = row.int_arg(4, "g", 1);
            const std::optional<int64_t> pad = row.has(3) ? std::optional(row.int_arg(3, "p", 0)) : std::nullopt;
            const bool act = row.bool_arg(5, "act", true);
            module = std::make_shared<Conv>(in_ch(0), out, k, s, pad, g, act);
            L.args = arg_list({std::to_string(in_ch(0)), std::to_string(out), std::to_string(k), std::to_string(s),
                               pad ? std::to_string(*pad) : "None", std::to_string(g), act ? "True" : "False"});
        } else if (row.module == "C3") {  // [c2, shortcut=True, g=1, e=0.5], n inserted as the third
            single_input();
            row.max_args(4);
            out_nominal = scaled(out_arg());
            const bool shortcut = row.bool_arg(1, "shortcut", true);
            const int64_t g = row.int_arg(2, "g", 1);
            const double e = row.number_arg(3, "e", 0.5);
            const C3Widths nominal = C3Widths::of(out_nominal, L.n, e);
            if (nominal.cv1 < 1) row.fail("hidden width int(", out_nominal, " * ", e, ") is below 1");
            C3Widths w = nominal;
            w.cv1 = width(base + ".cv1", nominal.cv1);
            w.cv2 = width(base + ".cv2", nominal.cv2);
            int64_t in = w.cv1, in_n = nominal.cv1;
            for (size_t k = 0; k < w.m.size(); ++k) {
                const std::string block = fmt::format("{}.m.{}", base, k);
                w.m[k].hidden = width(block + ".cv1", nominal.m[k].hidden);
                w.m[k].out = width(block + ".cv2", nominal.m[k].out);
                if (shortcut && in_n == nominal.m[k].out && in != w.m[k].out)
                    row.fail("channels: ", block, " is a residual block: its output (", block, ".cv2, ", w.m[k].out,
                             ") must stay as wide as its input (", in, ")");
                in = w.m[k].out;
                in_n = nominal.m[k].out;
            }
            out = width(base + ".cv3", out_nominal);
            module = std::make_shared<C3>(in_ch(0), out, L.n, shortcut, g, e, w);
            L.args = arg_list({std::to_string(in_ch(0)), std::to_string(out), std::to_string(L.n),
                               shortcut ? "True" : "False", std::to_string(g), fmt::format("{}", e)});
        } else if (row.module == "SPPF") {  // [c2, k=5]; hidden = half the input
            single_input();
            row.max_args(2);
            out_nominal = scaled(out_arg());
            out = width(base + ".cv2", out_nominal);
            const int64_t hidden = width(base + ".cv1", in_nominal(0) / 2);
            const int64_t k = row.int_arg(1, "k", 5);
            if (hidden < 1 || k < 1 || k % 2 == 0)
                row.fail("needs a hidden width >= 1 and an odd k, got ", hidden, ", ", k);
            module = std::make_shared<SPPF>(in_ch(0), out, k, hidden);
            L.args = arg_list({std::to_string(in_ch(0)), std::to_string(out), std::to_string(k)});
        } else if (row.module == "nn.Upsample") {  // [size=None, scale_factor=None, mode='nearest']
            single_input();
            row.max_args(3);
            nn::UpsampleArgs up;
            if (row.has(0)) up.size = Int2(row.int_arg(0, "size", 0));
            if (row.has(1)) up.scale_factor = nn::Scale2(row.number_arg(1, "scale_factor", 1));
            const std::string mode = row.has(2) ? row.args[2].Scalar() : "nearest";
            if (mode == "nearest")
                up.mode = InterpolateMode::Nearest;
            else if (mode == "bilinear")
                up.mode = InterpolateMode::Bilinear;
            else if (mode == "bicubic")
                up.mode = InterpolateMode::Bicubic;
            else
                row.fail("mode expects 'nearest', 'bilinear' or 'bicubic', got '", mode, "'");
            module = std::make_shared<nn::Upsample>(up);
            out = in_ch(0);
            out_nominal = in_nominal(0);
            L.args = arg_list({row.has(0) ? text_of(row.args[0]) : "None", row.has(1) ? text_of(row.args[1]) : "None",
                               fmt::format("'{}'", mode)});
        } else if (row.module == "Concat") {  // [dimension=1]
            row.max_args(1);
            if (row.int_arg(0, "dimension", 1) != 1) row.fail("only dimension 1 (the channels) is supported");
            for (size_t k = 0; k < L.inputs.size(); ++k) out += in_ch(k), out_nominal += in_nominal(k);
            module = std::make_shared<Concat>(1);
            L.args = "[1]";
        } else if (row.module == "Detect") {  // [nc, anchors], the names meaning the yaml's (nc possibly replaced)
            if (i != count - 1) row.fail("Detect must be the last layer");
            row.max_args(2);
            if (!row.has(0) || !row.has(1)) row.fail("expects [nc, anchors]");
            const bool nc_by_name = row.args[0].IsScalar() && row.args[0].Scalar() == "nc";
            const int64_t nc_detect = nc_by_name ? nc : row.int_arg(0, "nc", nc);
            if (nc_detect != nc) row.fail("its nc (", nc_detect, ") differs from the model's (", nc, ")");
            const bool anchors_by_name = row.args[1].IsScalar() && row.args[1].Scalar() == "anchors";
            const auto anchor_values = read_anchors(row, anchors_by_name ? anchors : row.args[1], L.inputs.size());
            std::vector<int64_t> det_ch;
            for (size_t k = 0; k < L.inputs.size(); ++k) det_ch.push_back(in_ch(k));
            module = std::make_shared<Detect>(nc, anchor_values, det_ch);
            L.args = fmt::format("[{}, {}, {}]", nc, anchor_values, det_ch);
        } else {
            row.fail("unknown module '", row.module, "' (known: Conv, C3, SPPF, nn.Upsample, Concat, Detect)");
        }
        model->push_back(module);
        L.out_channels = out;
        ch.push_back(out);
        ch_nominal.push_back(out_nominal);
        layers.push_back(L);
        save_.push_back(false);
        for (int64_t j : L.inputs)
            if (j >= 0 && j != i - 1) save_[static_cast<size_t>(j)] = true;
    }
    if (layers.empty() || layers.back().module != "Detect") p.fail("the last layer (of head) must be Detect");
    std::vector<std::string> unknown;
    for (const auto& [path, c] : want)
        if (!used.count(path)) unknown.push_back(path);
    if (!unknown.empty()) {
        std::vector<std::string> known;
        for (const auto& [path, c] : channels()) known.push_back(path);
        p.fail("channels: no Conv ", fmt::format("{}", fmt::join(unknown, ", ")),
               " in this network (its Convs: ", fmt::format("{}", fmt::join(known, ", ")), ")");
    }
}

}  // namespace nabla::models
