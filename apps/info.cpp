// apps/info.cpp — `nabla info FILE|MODEL`: the tensors (name, dtype, shape) and metadata of a safetensors file or
// checkpoint, or the layer table (nn/summary.h) of a model known to the command line.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>

#include "apps/commands.h"
#include "apps/models.h"
#include "nn/safetensors.h"
#include "nn/summary.h"

namespace nabla::apps {

namespace {

void print_file(const std::string& file) {
    Metadata meta;
    TensorMap tensors = load_safetensors(file, &meta);
    int64_t total = 0;
    for (const auto& [name, t] : tensors) {
        fmt::print("{:<56} {:<8} {}\n", name, dtype_name(t.dtype()), shape_str(t.shape()));
        total += t.numel();
    }
    fmt::print("{} tensors, {} elements\n", tensors.size(), nn::with_commas(total));
    for (const auto& [k, v] : meta) {
        if (v.size() > 160)  // the generator state and long configs: say what they are rather than dump them
            fmt::print("metadata {}: {}... ({} characters)\n", k, v.substr(0, 60), v.size());
        else
            fmt::print("metadata {}: {}\n", k, v);
    }
}

}  // namespace

void add_info_command(CLI::App& app) {
    auto* cmd = app.add_subcommand("info",
                                   "List the tensors and metadata of a safetensors file or checkpoint, or "
                                   "print a model's layers, output shapes, parameters and MACs");
    auto what = std::make_shared<std::string>();
    auto size = std::make_shared<int64_t>(0);
    auto set = std::make_shared<std::vector<std::string>>();
    cmd->add_option("FILE_OR_MODEL", *what, "A .safetensors file, or a model name: " + model_names())->required();
    cmd->add_option("--size", *size,
                    "Input side for a model's table (default: the side the model trains at, e.g. "
                    "288 for U²-Net, 48 for PANet's low-resolution input)");
    cmd->add_option("--set", *set, "Model constructor argument KEY=VALUE (repeatable)");
    cmd->callback([what, size, set] {
        if (std::filesystem::exists(*what)) return print_file(*what);
        if (what->find_first_of("/.") != std::string::npos)  // a path (model names have neither)
            throw Error(
                fmt::format("info: no such file: {} (nor is it a model name; models: {})", *what, model_names()));
        const ModelSpec& spec = find_model(*what);
        ModelArgs args(*set);
        auto model = spec.make(args);
        args.check_all_used(spec.name);
        const int64_t side = *size > 0 ? *size : spec.input_size;
        fmt::print("{}", nn::summary(*model, {1, spec.in_channels, side, side}));
    });
}

}  // namespace nabla::apps
