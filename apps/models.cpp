// apps/models.cpp — the registry of models known to the command line, ModelArgs, device_of and the shipped weights.
#include "apps/models.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "models/panet/loss.h"
#include "models/panet/panet.h"
#include "models/pfld/loss.h"
#include "models/pfld/pfld.h"
#include "models/tinyseg/tinyseg.h"
#include "models/u2net/loss.h"
#include "models/u2net/u2net.h"
#include "models/yolo/loss.h"
#include "models/yolo/yolo.h"
#include "nn/optim/adam.h"
#include "nn/optim/sgd.h"
#include "nn/safetensors.h"
#include "ops/factory.h"
#include "ops/ops.h"

namespace nabla::apps {

ModelArgs::ModelArgs(const std::vector<std::string>& key_values) {
    for (const auto& kv : key_values) {
        const auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0)
            throw ValueError(detail::concat("--set expects key=value, got '", kv, "'"));
        values_[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
}

std::string ModelArgs::get_string(const std::string& key, const std::string& fallback) const {
    auto it = values_.find(key);
    if (it == values_.end()) return fallback;
    used_[key] = true;
    return it->second;
}

std::string ModelArgs::get_choice(const std::string& key, const std::vector<std::string>& choices) const {
    const std::string v = get_string(key, choices.front());
    if (std::find(choices.begin(), choices.end(), v) == choices.end())
        throw ValueError(fmt::format("--set {}={}: expected one of {}", key, v, fmt::join(choices, ", ")));
    return v;
}

int64_t ModelArgs::get_int(const std::string& key, int64_t fallback) const {
    const std::string s = get_string(key, "");
    if (s.empty()) return fallback;
    try {
        size_t end = 0;
        const int64_t v = std::stoll(s, &end);
        if (end == s.size()) return v;
    } catch (const std::exception&) {
    }
    throw ValueError(detail::concat("--set ", key, "=", s, ": expects an integer"));
}

double ModelArgs::get_double(const std::string& key, double fallback) const {
    const std::string s = get_string(key, "");
    if (s.empty()) return fallback;
    try {
        size_t end = 0;
        const double v = std::stod(s, &end);
        if (end == s.size()) return v;
    } catch (const std::exception&) {
    }
    throw ValueError(detail::concat("--set ", key, "=", s, ": expects a number"));
}

void ModelArgs::check_all_used(const std::string& model) const {
    for (const auto& [key, value] : values_)
        if (!used_.count(key)) throw ValueError(detail::concat("--set ", key, ": ", model, " has no such argument"));
}

namespace {

std::vector<ModelSpec> make_registry() {
    std::vector<ModelSpec> specs;
    specs.push_back({
        .name = "tinyseg",
        .description = "a two-level U-Net for binary masks (the demo model; args: width=16)",
        .in_channels = 3,
        .input_size = 56,
        .make = [](const ModelArgs& a) -> std::shared_ptr<nn::Module> {
            return std::make_shared<models::TinySeg>(3, a.get_int("width", 16));
        },
        .make_target =
            [](const Shape& s, Generator& g) {
                return gt(rand({s[0], 1, s[2], s[3]}, {}, &g), 0.5).to(kFloat32);
            },
        .loss = [](nn::Module&, const std::vector<Tensor>& out, const Tensor& t) { return models::u2net_loss(out, t); },
        .make_optimizer = [](nn::Module& m) -> std::unique_ptr<optim::Optimizer> {
            return std::make_unique<optim::Adam>(m.parameters(), optim::AdamOptions{.lr = 1e-2});
        },
    });
    // U²-Net: the sum of BCE-with-logits over the seven outputs, Adam as the public train script.
    auto u2_target = [](const Shape& s, Generator& g) {
        return gt(rand({s[0], 1, s[2], s[3]}, {}, &g), 0.5).to(kFloat32);
    };
    auto u2_adam = [](nn::Module& m) -> std::unique_ptr<optim::Optimizer> {
        return std::make_unique<optim::Adam>(m.parameters(),
                                             optim::AdamOptions{.lr = 1e-3, .betas = {0.9, 0.999}, .eps = 1e-8});
    };
    specs.push_back(
        {.name = "u2net",
         .description = "U²-Net, salient-object masks (44.0M parameters; xuebinqin/U-2-Net names)",
         .in_channels = 3,
         .make = [](const ModelArgs&) -> std::shared_ptr<nn::Module> { return std::make_shared<models::U2NET>(); },
         .make_target = u2_target,
         .loss = [](nn::Module&, const std::vector<Tensor>& out,
                    const Tensor& t) { return models::u2net_loss(out, t); },
         .make_optimizer = u2_adam});
    specs.push_back(
        {.name = "u2netp",
         .description = "U²-Net† (U2NETP), the small U²-Net (1.13M parameters)",
         .in_channels = 3,
         .make = [](const ModelArgs&) -> std::shared_ptr<nn::Module> { return std::make_shared<models::U2NETP>(); },
         .make_target = u2_target,
         .loss = [](nn::Module&, const std::vector<Tensor>& out,
                    const Tensor& t) { return models::u2net_loss(out, t); },
         .make_optimizer = u2_adam});
    // PANet: LR input [N, 3, S, S] in [-1, 1], HR target at 2S; L1 loss and AdamW lr 1e-4 as the reference blog.
    specs.push_back({.name = "panet",
                     .description = "PANet, x2 super-resolution with pyramid attention (args: channels=64, blocks=24, "
                                    "level=4, skip=none|bicubic, norm=batch|none; --size is the low-resolution side)",
                     .in_channels = 3,
                     .input_size = 48,  // the LR side of the reference's 96x96 crops
                     .make = [](const ModelArgs& a) -> std::shared_ptr<nn::Module> {
                         return std::make_shared<models::PANet>(
                             models::PANetArgs{.channels = a.get_int("channels", 64),
                                               .blocks = a.get_int("blocks", 24),
                                               .level = a.get_int("level", 4),
                                               .bicubic_skip = a.get_choice("skip", {"none", "bicubic"}) == "bicubic",
                                               .batch_norm = a.get_choice("norm", {"batch", "none"}) == "batch"});
                     },
                     .make_target =
                         [](const Shape& s, Generator& g) {
                             return rand({s[0], 3, 2 * s[2], 2 * s[3]}, {}, &g) * 2.0 - 1.0;
                         },
                     .loss = [](nn::Module&, const std::vector<Tensor>& out,
                                const Tensor& target) { return models::panet_loss(out[0], target); },
                     .make_optimizer = [](nn::Module& m) -> std::unique_ptr<optim::Optimizer> {
                         return std::make_unique<optim::AdamW>(m.parameters(), optim::AdamWOptions{.lr = 1e-4});
                     }});
    // PFLD: 98 landmarks from a 112x112 face crop, with the auxiliary angle branch. The bench target packs, per
    // image, the 196 true coordinates, the 6 attribute flags and the 3 true angles (degrees): [N, 205].
    specs.push_back(
        {.name = "pfld",
         .description = "PFLD, 98-point facial landmarks with the auxiliary Euler-angle branch (backbone 1.26M + "
                        "auxiliary net 0.46M parameters; polarisZhao/PFLD-pytorch names; args: width=1)",
         .in_channels = 3,
         .input_size = 112,
         .memory_format = MemoryFormat::ChannelsLast,
         .make = [](const ModelArgs& a) -> std::shared_ptr<nn::Module> {
             return std::make_shared<models::PFLD>(models::PFLDArgs{.width = a.get_double("width", 1.0)});
         },
         .make_target =
             [](const Shape& s, Generator& g) {
                 const Tensor landmarks = rand({s[0], 196}, {}, &g);
                 const Tensor attributes = lt(rand({s[0], 6}, {}, &g), 0.3).to(kFloat32);
                 return cat({landmarks, attributes, randn({s[0], 3}, {}, &g) * 20.0}, 1);
             },
         .loss =
             [](nn::Module&, const std::vector<Tensor>& out, const Tensor& t) {
                 return models::pfld_loss(t.narrow(1, 196, 6), t.narrow(1, 0, 196), t.narrow(1, 202, 3), out[2], out[1])
                     .weighted;
             },
         .make_optimizer = [](nn::Module& m) -> std::unique_ptr<optim::Optimizer> {
             return std::make_unique<optim::Adam>(m.parameters(), optim::AdamOptions{.lr = 1e-4, .weight_decay = 1e-6});
         }});
    // YOLOv5 v6.0 from its model yaml (models/yolo/configs). The bench target is 4 random boxes per image as
    // ComputeLoss takes them, [n, 6] (image, class, cx, cy, w, h normalised); the loss is ComputeLoss with
    // hyp.scratch's gains scaled for nc, the input size and 3 levels, as train.py does; SGD as hyp.scratch.
    for (const char* size : {"n", "s", "m", "l", "x"}) {
        const std::string name = std::string("yolov5") + size;
        specs.push_back({.name = name,
                         .description = "YOLOv5" + std::string(size) +
                                        " v6.0 detection (ultralytics' keys; args: nc=80, " +
                                        "depth_multiple, width_multiple)",
                         .in_channels = 3,
                         .input_size = 640,
                         .memory_format = MemoryFormat::ChannelsLast,
                         .make = [name](const ModelArgs& a) -> std::shared_ptr<nn::Module> {
                             models::YOLOv5Args args;
                             if (const int64_t nc = a.get_int("nc", 0); nc > 0) args.nc = nc;
                             if (const double d = a.get_double("depth_multiple", 0); d > 0) args.depth_multiple = d;
                             if (const double w = a.get_double("width_multiple", 0); w > 0) args.width_multiple = w;
                             return std::make_shared<models::YOLOv5>(name, args);
                         },
                         .make_target =
                             [](const Shape& s, Generator& g) {
                                 const int64_t n = 4 * s[0];
                                 std::vector<float> image, cls;  // classes 0..2 exist for any nc >= 3
                                 for (int64_t i = 0; i < n; ++i) {
                                     image.push_back(static_cast<float>(i / 4));
                                     cls.push_back(static_cast<float>(g.randint(0, 3)));
                                 }
                                 const Tensor xy = rand({n, 2}, {}, &g) * 0.8 + 0.1;
                                 const Tensor wh = rand({n, 2}, {}, &g) * 0.3 + 0.02;
                                 return cat({from_vector(image, {n, 1}), from_vector(cls, {n, 1}), xy, wh}, 1);
                             },
                         .loss =
                             [](nn::Module& m, const std::vector<Tensor>& out, const Tensor& t) {
                                 auto& yolo = dynamic_cast<models::YOLOv5&>(m);
                                 const auto img_size =
                                     static_cast<int64_t>(static_cast<double>(out[0].size(2)) * yolo.stride.at(0));
                                 const auto o = models::scale_loss_gains({}, yolo.nc, img_size, yolo.detect().nl);
                                 return models::yolo_loss(out, t, yolo.detect().anchors, yolo.nc, o).total;
                             },
                         .make_optimizer = [](nn::Module& m) -> std::unique_ptr<optim::Optimizer> {
                             return std::make_unique<optim::SGD>(
                                 m.parameters(), optim::SGDOptions{.lr = 0.01, .momentum = 0.937, .nesterov = true});
                         }});
    }
    return specs;
}

}  // namespace

const std::vector<ModelSpec>& model_registry() {
    static const std::vector<ModelSpec> registry = make_registry();
    return registry;
}

std::string model_names() {
    std::string names;
    for (const auto& s : model_registry()) names += (names.empty() ? "" : ", ") + s.name;
    return names;
}

Device device_of(const nn::Module& model) {
    for (const Tensor& t : model.parameters())
        if (t.defined()) return t.device();
    for (const Tensor& t : model.buffers())
        if (t.defined()) return t.device();
    return kCPU;
}

std::string shipped_weights_path(const std::string& model) { return "data/weights/" + model + ".safetensors"; }

std::string resolve_weights(const std::string& weights, const std::string& model, const char* command, bool required) {
    if (!weights.empty()) return weights;
    const std::string shipped = shipped_weights_path(model);
    std::error_code ec;
    if (std::filesystem::is_regular_file(shipped, ec)) {
        fmt::print(stderr, "{} {}: using the shipped weights {}\n", command, model, shipped);
        return shipped;
    }
    if (required)
        throw Error(fmt::format("{} {}: no --weights given and no shipped weights at {}", command, model, shipped));
    return "";
}

const ModelSpec& find_model(const std::string& name) {
    for (const auto& s : model_registry())
        if (s.name == name) return s;
    throw ValueError(detail::concat("unknown model '", name, "'; known models: ", model_names()));
}

nlohmann::json parse_config(const std::string& config_json) {
    nlohmann::json config = nlohmann::json::parse(config_json, nullptr, /*allow_exceptions=*/false);
    return config.is_object() ? config : nlohmann::json::object();
}

nlohmann::json config_of_weights(const std::string& weights) {
    const Metadata meta = load_safetensors_metadata(weights);  // the header only; the caller loads the tensors
    const auto it = meta.find("config");
    return it == meta.end() ? nlohmann::json::object() : parse_config(it->second);
}

int64_t config_int(const nlohmann::json& config, const std::string& key, int64_t fallback) {
    const auto it = config.find(key);
    return it != config.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
}

double config_double(const nlohmann::json& config, const std::string& key, double fallback) {
    const auto it = config.find(key);
    return it != config.end() && it->is_number() ? it->get<double>() : fallback;
}

std::string config_string(const nlohmann::json& config, const std::string& key, const std::string& fallback) {
    const auto it = config.find(key);
    return it != config.end() && it->is_string() ? it->get<std::string>() : fallback;
}

std::vector<std::string> set_of_config(const nlohmann::json& config) {
    std::vector<std::string> set;
    if (config.contains("set") && config["set"].is_array())
        for (const auto& kv : config["set"])
            if (kv.is_string()) set.push_back(kv.get<std::string>());
    return set;
}

std::vector<std::string> set_for_weights(const std::vector<std::string>& set, const std::string& weights) {
    if (!set.empty() || weights.empty()) return set;
    return set_of_config(config_of_weights(weights));
}

}  // namespace nabla::apps
