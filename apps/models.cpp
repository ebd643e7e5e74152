// apps/models.cpp — the registry of models known to the command line, and ModelArgs.
#include "apps/models.h"

#include <fmt/format.h>

#include "models/panet/loss.h"
#include "models/panet/panet.h"
#include "models/pfld/loss.h"
#include "models/pfld/pfld.h"
#include "models/tinyseg/tinyseg.h"
#include "models/u2net/loss.h"
#include "models/u2net/u2net.h"
#include "nn/optim/adam.h"
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
        .loss = models::u2net_loss,
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
         .loss = models::u2net_loss,
         .make_optimizer = u2_adam});
    specs.push_back(
        {.name = "u2netp",
         .description = "U²-Net† (U2NETP), the small U²-Net (1.13M parameters)",
         .in_channels = 3,
         .make = [](const ModelArgs&) -> std::shared_ptr<nn::Module> { return std::make_shared<models::U2NETP>(); },
         .make_target = u2_target,
         .loss = models::u2net_loss,
         .make_optimizer = u2_adam});
    // PANet: LR input [N, 3, S, S] in [-1, 1], HR target at 2S; L1 loss and AdamW lr 1e-4 as the reference blog.
    specs.push_back({.name = "panet",
                     .description = "PANet, x2 super-resolution with pyramid attention (args: channels=64, blocks=24, "
                                    "level=4; --size is the low-resolution side)",
                     .in_channels = 3,
                     .input_size = 48,  // the LR side of the reference's 96x96 crops
                     .make = [](const ModelArgs& a) -> std::shared_ptr<nn::Module> {
                         return std::make_shared<models::PANet>(models::PANetArgs{.channels = a.get_int("channels", 64),
                                                                                  .blocks = a.get_int("blocks", 24),
                                                                                  .level = a.get_int("level", 4)});
                     },
                     .make_target =
                         [](const Shape& s, Generator& g) {
                             return rand({s[0], 3, 2 * s[2], 2 * s[3]}, {}, &g) * 2.0 - 1.0;
                         },
                     .loss = [](const std::vector<Tensor>& out,
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
             [](const std::vector<Tensor>& out, const Tensor& t) {
                 return models::pfld_loss(t.narrow(1, 196, 6), t.narrow(1, 0, 196), t.narrow(1, 202, 3), out[2], out[1])
                     .weighted;
             },
         .make_optimizer = [](nn::Module& m) -> std::unique_ptr<optim::Optimizer> {
             return std::make_unique<optim::Adam>(m.parameters(), optim::AdamOptions{.lr = 1e-4, .weight_decay = 1e-6});
         }});
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

const ModelSpec& find_model(const std::string& name) {
    for (const auto& s : model_registry())
        if (s.name == name) return s;
    throw ValueError(detail::concat("unknown model '", name, "'; known models: ", model_names()));
}

}  // namespace nabla::apps
