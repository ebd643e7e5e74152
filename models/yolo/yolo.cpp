// models/yolo/yolo.cpp — YOLOv5: where a model yaml comes from (built in, file, text), the build's last steps (the
// stride probe, docs/yolo.md §4), the forward pass through the layer graph (§5) and the channel maps (§6). The
// layers themselves are built by models/yolo/parse_model.cpp.
#include "models/yolo/yolo.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <sstream>
#include <string_view>
#include <utility>

#include "ops/ops.h"

namespace nabla::models {

namespace embedded {  // the model files, compiled in by CMakeLists.txt (build/generated/yolo_configs.cpp)
extern const std::pair<std::string_view, std::string_view> kEmbeddedYoloConfigs[];
extern const std::size_t kEmbeddedYoloConfigCount;
}  // namespace embedded

// ---- YoloYaml ----

namespace {

std::string strip_suffix(std::string s, std::string_view suffix) {
    if (s.size() >= suffix.size() && s.ends_with(suffix)) s.resize(s.size() - suffix.size());
    return s;
}

}  // namespace

std::vector<std::string> YoloYaml::builtin_names() {
    std::vector<std::string> names;
    for (std::size_t i = 0; i < embedded::kEmbeddedYoloConfigCount; ++i)
        names.emplace_back(embedded::kEmbeddedYoloConfigs[i].first);
    std::sort(names.begin(), names.end());
    return names;
}

YoloYaml YoloYaml::builtin(const std::string& name) {
    const std::string stem = strip_suffix(name, ".yaml");
    for (std::size_t i = 0; i < embedded::kEmbeddedYoloConfigCount; ++i) {
        const auto& [key, text] = embedded::kEmbeddedYoloConfigs[i];
        if (key == stem) return {std::string(text), fmt::format("{}.yaml (built in)", stem)};
    }
    throw ValueError(
        fmt::format("YOLOv5: no built-in model '{}' (built in: {})", name, fmt::join(builtin_names(), ", ")));
}

YoloYaml YoloYaml::file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    if (in) text << in.rdbuf();
    if (!in || in.bad()) throw Error(fmt::format("YOLOv5: {}: cannot read the model file", path));
    return {text.str(), path};
}

YoloYaml YoloYaml::from_text(std::string text, std::string source) { return {std::move(text), std::move(source)}; }

YoloYaml YoloYaml::resolve(const std::string& name_or_path) {
    const std::vector<std::string> names = builtin_names();
    if (std::find(names.begin(), names.end(), strip_suffix(name_or_path, ".yaml")) != names.end() &&
        name_or_path.find('/') == std::string::npos)
        return builtin(name_or_path);
    if (!std::ifstream(name_or_path))
        throw Error(fmt::format("YOLOv5: '{}' is neither a built-in model ({}) nor a readable model file", name_or_path,
                                fmt::join(names, ", ")));
    return file(name_or_path);
}

// ---- YOLOv5 ----

YOLOv5::YOLOv5(const YoloYaml& cfg, YOLOv5Args args) : nn::Module("YOLOv5"), yaml(cfg) {
    build(std::move(args));
    probe_strides();
}

void YOLOv5::probe_strides() {
    // As ultralytics: a training-mode forward on zeros 256x256; stride = 256 / the width of each level's map.
    const bool was_training = is_training();
    train(true);
    std::vector<Tensor> raw;
    {
        autograd::NoGradGuard no_grad;
        raw = forward_outputs(zeros({1, in_channels, 256, 256}));
    }
    stride.clear();
    for (const Tensor& r : raw) stride.push_back(256.0 / static_cast<double>(r.size(-2)));
    Detect& d = detect();
    d.stride = stride;
    d.to_grid_units();
    d.check_anchor_order();
    d.initialize_biases();
    // The dry run moved the BatchNorm statistics (ultralytics leaves them so, at running_var 0.9 and one batch
    // tracked, its momentum being still PyTorch's 0.1 then); a fresh network starts from fresh statistics here.
    for (auto& [name, m] : named_modules())
        if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(m)) bn->reset_running_stats();
    train(was_training);
}

std::vector<Tensor> YOLOv5::forward_outputs(const Tensor& x) {
    NB_CHECK(x.dim() == 4 && x.size(1) == in_channels, "YOLOv5: expects an input [B, ", in_channels, ", H, W], got ",
             shape_str(x.shape()));
    if (!stride.empty()) {
        const auto s = static_cast<int64_t>(*std::max_element(stride.begin(), stride.end()));
        NB_CHECK(x.size(2) % s == 0 && x.size(3) % s == 0, "YOLOv5: the input's height and width must be multiples of ",
                 s, " (the largest stride: the head concatenates maps of every level), got ", shape_str(x.shape()));
    }
    std::vector<Tensor> saved(layers.size());
    Tensor current = x;
    for (size_t i = 0; i < layers.size(); ++i) {
        const YoloLayer& L = layers[i];
        auto input = [&](int64_t j) {
            return j == static_cast<int64_t>(i) - 1 ? current : saved[static_cast<size_t>(j)];
        };
        const nn::ModulePtr module = (*model)[static_cast<int64_t>(i)];
        if (L.module == "Concat" || L.module == "Detect") {
            std::vector<Tensor> xs;
            for (int64_t j : L.inputs) xs.push_back(input(j));
            if (L.module == "Detect") return (*std::static_pointer_cast<Detect>(module))(xs);
            current = (*std::static_pointer_cast<Concat>(module))(xs);
        } else {
            current = (*module)(input(L.inputs[0]));
        }
        if (save_[i]) saved[i] = current;
    }
    throw Error("YOLOv5: the network has no Detect layer");  // the build refuses such a yaml
}

Tensor YOLOv5::forward(const Tensor& x) {
    NB_CHECK_VALUE(!is_training(),
                   "YOLOv5: forward() gives the decoded detections of eval mode; in training mode the outputs are one "
                   "raw map per level: use call_outputs()");
    return forward_outputs(x)[0];
}

Detect& YOLOv5::detect() const { return *model->at<Detect>(-1); }

std::map<std::string, int64_t> YOLOv5::channels() const {
    std::map<std::string, int64_t> out;
    std::function<void(const nn::Module&, const std::string&)> walk = [&](const nn::Module& m,
                                                                          const std::string& path) {
        if (const auto* conv = dynamic_cast<const Conv*>(&m)) out[path] = conv->conv->out_channels;
        for (const auto& [name, child] : m.named_children()) walk(*child, path.empty() ? name : path + "." + name);
    };
    walk(*this, "");
    return out;
}

std::map<std::string, int64_t> YOLOv5::channels_from_state_dict(const TensorMap& state) {
    std::map<std::string, int64_t> out;
    for (const auto& [key, t] : state)
        if (key.ends_with(".conv.weight") && t.dim() == 4) out[strip_suffix(key, ".conv.weight")] = t.size(0);
    return out;
}

std::string YOLOv5::info() const {
    std::string s =
        fmt::format("{:>3}{:>18}{:>3}{:>10}  {:<40}{:<30}\n", "", "from", "n", "params", "module", "arguments");
    for (const YoloLayer& L : layers) {
        const std::string from = L.from.size() == 1 ? std::to_string(L.from[0]) : fmt::format("{}", L.from);
        s += fmt::format("{:>3}{:>18}{:>3}{:>10}  {:<40}{:<30}\n", L.index, from, L.n,
                         (*model)[L.index]->num_parameters(), L.module, L.args);
    }
    return s + fmt::format("YOLOv5 ({}): {} layers, {} parameters, strides {}\n", yaml.source, layers.size(),
                           num_parameters(), stride);
}

}  // namespace nabla::models
