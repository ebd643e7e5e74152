// apps/info.cpp — `nabla info FILE`: the tensors (name, dtype, shape) and metadata of a safetensors file.
#include <fmt/format.h>

#include "apps/commands.h"
#include "nn/safetensors.h"

namespace nabla::apps {

void add_info_command(CLI::App& app) {
    auto* cmd = app.add_subcommand("info", "List the tensors and metadata of a safetensors checkpoint");
    auto file = std::make_shared<std::string>();
    cmd->add_option("FILE", *file, "The .safetensors file")->required()->check(CLI::ExistingFile);
    cmd->callback([file] {
        Metadata meta;
        TensorMap tensors = load_safetensors(*file, &meta);
        int64_t total = 0;
        for (const auto& [name, t] : tensors) {
            fmt::print("{:<48} {:<8} {}\n", name, dtype_name(t.dtype()), t.shape());
            total += t.numel();
        }
        fmt::print("{} tensors, {} elements\n", tensors.size(), total);
        for (const auto& [k, v] : meta) fmt::print("metadata {}: {}\n", k, v);
    });
}

}  // namespace nabla::apps
